#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The exit status is part of the interface (0 verified, 1 not verified, 2 usage error), and
// ArgumentParser's default for usage errors is 64, so the status is set here rather than by it.
exit(PDXVerify.runProcess(arguments: Array(CommandLine.arguments.dropFirst())))
