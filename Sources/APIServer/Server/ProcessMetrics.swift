import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's own figures in the Prometheus client conventions (`process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, …), read when `/metrics` is scraped.
///
/// On Linux from `/proc/self`; elsewhere what `getrusage` gives (CPU time and peak memory). A
/// figure that cannot be read is left out rather than reported as zero.
enum ProcessMetrics {
    /// The exposition text of the figures readable now.
    static func render() -> String {
        var text = ""
        func add(_ name: String, _ type: String, _ help: String, _ value: Double?) {
            guard let value, value.isFinite else { return }
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(format(value))\n"
        }
        let sample = Sample.read()
        add("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", sample.cpuSeconds)
        add("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", sample.residentBytes)
        add("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", sample.virtualBytes)
        add("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", sample.startTime)
        add("process_open_fds", "gauge", "Number of open file descriptors.", sample.openFiles)
        add("process_max_fds", "gauge", "Maximum number of open file descriptors.", sample.maxFiles)
        add("process_threads", "gauge", "Number of OS threads in the process.", sample.threads)
        return text
    }

    /// Integers without a decimal point, others as Swift prints them.
    private static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    struct Sample {
        var cpuSeconds: Double?
        var residentBytes: Double?
        var virtualBytes: Double?
        var startTime: Double?
        var openFiles: Double?
        var maxFiles: Double?
        var threads: Double?

        static func read() -> Sample {
            var sample = Sample()
            var usage = rusage()
            #if os(Linux)
            let who = RUSAGE_SELF.rawValue
            #else
            let who = RUSAGE_SELF
            #endif
            if getrusage(who, &usage) == 0 {
                sample.cpuSeconds = seconds(usage.ru_utime) + seconds(usage.ru_stime)
            }
            var limit = rlimit()
            if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {
                sample.maxFiles = Double(limit.rlim_cur)
            }
            #if os(Linux)
            readProc(into: &sample)
            #endif
            return sample
        }

        private static func seconds(_ time: timeval) -> Double {
            Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000
        }

        #if os(Linux)
        /// `/proc/self/stat`'s fields after the command name (which may hold spaces and parentheses,
        /// so the split starts after its last `)`): state is field 3, so field N is at index N - 3.
        private static func readProc(into sample: inout Sample) {
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            let page = Double(sysconf(Int32(_SC_PAGESIZE)))
            if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")") {
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                func field(_ number: Int) -> Double? {
                    fields.indices.contains(number - 3) ? Double(fields[number - 3]) : nil
                }
                if let user = field(14), let system = field(15), ticks > 0 { sample.cpuSeconds = (user + system) / ticks }
                sample.threads = field(20)
                sample.virtualBytes = field(23)
                if let pages = field(24), page > 0 { sample.residentBytes = pages * page }
                if let started = field(22), ticks > 0, let boot = bootTime() { sample.startTime = boot + started / ticks }
            }
            if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
                // The listing itself holds one descriptor open while it reads.
                sample.openFiles = Double(max(0, entries.count - 1))
            }
        }

        /// The `btime` line of `/proc/stat`: when the machine booted, in seconds since the epoch.
        private static func bootTime() -> Double? {
            guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
            for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
                return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
            }
            return nil
        }
        #endif
    }
}
