#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much of the running thread's call stack is left. The parser and the interpreter recurse
/// as deep as the program nests; they ask `isLow` on the way down and stop with an error while
/// a reserve is still free, instead of overflowing the stack and killing the session. The limit
/// is the thread's real stack (8 MB on the main thread by default), not a count of levels,
/// since a level's frames differ between debug and release builds.
enum Stack {
    /// Below this address the reserve begins (per thread, looked up once).
    static var limit: UInt {
        if let cached = pthread_getspecific(key) { return UInt(bitPattern: cached) }
        let (low, size) = bounds()
        // The reserve covers what runs between two checks: a builtin, printing a value,
        // freeing a deep tree. A 512 KB thread keeps half; the main thread 1 MB of 8.
        let reserve = max(size / 8, min(size / 2, 256 << 10))
        let limit = low + UInt(reserve)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: limit))
        return limit
    }

    static var isLow: Bool { pointer() < limit }

    static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The address of a local of a frame of its own: where the stack is now.
    @inline(never)
    static func pointer() -> UInt {
        var marker: UInt8 = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    }

    /// The lowest address of the thread's stack and its size.
    static func bounds() -> (low: UInt, size: Int) {
        #if canImport(Darwin)
        let thread = pthread_self()
        let size = pthread_get_stacksize_np(thread)
        return (UInt(bitPattern: pthread_get_stackaddr_np(thread)) - UInt(size), size)
        #else
        // glibc has pthread_getattr_np, but Swift's Glibc module does not declare it.
        typealias GetAttributes = @convention(c) (pthread_t, UnsafeMutablePointer<pthread_attr_t>) -> Int32
        var attributes = pthread_attr_t()
        var address: UnsafeMutableRawPointer?
        var size = 0
        if let symbol = dlsym(nil, "pthread_getattr_np"),
           unsafeBitCast(symbol, to: GetAttributes.self)(pthread_self(), &attributes) == 0 {
            pthread_attr_getstack(&attributes, &address, &size)
            pthread_attr_destroy(&attributes)
        }
        if let address, size > 0 { return (UInt(bitPattern: address), size) }
        // Unknown: assume the smallest stack a thread gets by default (512 KB) below here.
        let here = pointer()
        return (here - 512 << 10, 512 << 10)
        #endif
    }
}
