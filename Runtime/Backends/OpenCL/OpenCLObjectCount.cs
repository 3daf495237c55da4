namespace RnnRuntime.Backends.OpenCL;

/// <summary>
/// How many OpenCL objects (contexts, programs, queues, kernels, buffers) this runtime holds right now.
/// Every create is counted and every release uncounted, so the tests can check that disposing
/// sessions and models gives back exactly what they took.
/// </summary>
internal static class OpenCLObjectCount
{
    private static long s_live;

    public static long Live => Interlocked.Read(ref s_live);

    public static nint Created(nint handle)
    {
        if (handle != 0) Interlocked.Increment(ref s_live);
        return handle;
    }

    public static void Released() => Interlocked.Decrement(ref s_live);
}
