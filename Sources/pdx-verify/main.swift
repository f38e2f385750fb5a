#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The exit status is part of the interface (0 verified against a pinned key, 1 not verified, 2 usage
// error, 3 verified only against the export's own key), and ArgumentParser's default for usage errors
// is 64, so the status is set here rather than by it.
exit(PDXVerify.runProcess(arguments: Array(CommandLine.arguments.dropFirst())))
