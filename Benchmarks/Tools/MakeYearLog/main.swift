import Foundation
import SampleLog

// make-year-log DIRECTORY EVENTS [SEED]: what `pdx generate-log --events EVENTS --out DIRECTORY`
// writes, without building the server in release mode (see verify-year.sh).

let arguments = CommandLine.arguments
guard arguments.count == 3 || arguments.count == 4, let events = Int(arguments[2]), events > 0,
      let seed = arguments.count == 4 ? UInt64(arguments[3]) : 1
else {
    print("usage: make-year-log DIRECTORY EVENTS [SEED]")
    exit(2)
}
do {
    let summary = try SampleLog.write(events: events, to: arguments[1], seed: seed)
    print(summary.text)
} catch {
    print("make-year-log: \(error)")
    exit(1)
}
