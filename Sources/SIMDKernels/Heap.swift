import CPlatform

/// The C allocator, set up once (`nl_allocator_tune`) before the first kernel or tensor
/// allocates: the engine allocates and frees buffers of up to tens of MB on every op.
public let heapSetUp: Void = nl_allocator_tune()
