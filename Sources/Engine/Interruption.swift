/// Ctrl-C inside one long call: a metric over thousands of patches, an SVD's sweeps. The front
/// end binds, for the thread that runs a program, the question "was Ctrl-C pressed?"; long
/// loops ask `check` between their steps and stop with `EngineError.interrupted`. Where nothing
/// is bound (a test, a command-line run), nothing interrupts them.
public enum Interruption {
    @TaskLocal public static var isRequested: (@Sendable () -> Bool)? = nil

    public static func check(_ op: String) throws {
        if let isRequested, isRequested() { throw EngineError.interrupted(op: op) }
    }
}
