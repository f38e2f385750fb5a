/// How storage failures read over HTTP; filled in with the storage module's codes.
enum StorageErrors {
    static func problem(for error: any Error) -> Problem? { nil }
}
