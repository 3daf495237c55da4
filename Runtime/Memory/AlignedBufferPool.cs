using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.InteropServices;

namespace RnnRuntime.Memory;

/// <summary>
/// Pool of pinned, 64-byte-aligned float buffers in power-of-two size classes. Sessions rent their
/// state and scratch here when they are created and give it back when disposed, so creating and
/// dropping sessions in a loop does not churn native memory. ArrayPool (and CommunityToolkit's
/// MemoryOwner on top of it) is neither pinned nor aligned, hence this.
/// </summary>
internal sealed unsafe class AlignedBufferPool
{
    public const int Alignment = 64;
    private const int MinClassLog2 = 4;            // 16 floats = one cache line
    private const int MaxClassLog2 = 30;
    private const int MaxRetainedPerClass = 64;
    private const int MaxPooledFloats = 1 << 24;   // 64 MiB: bigger blocks go straight back to the OS

    private static long s_nativeBytes;

    /// <summary>Native bytes every pool holds now, rented out or kept for reuse: with the GC heap, all the
    /// memory the runtime owns (tests measure a model's footprint with it).</summary>
    internal static long NativeBytes => Interlocked.Read(ref s_nativeBytes);

    private readonly ConcurrentStack<nint>[] _classes = new ConcurrentStack<nint>[MaxClassLog2 + 1];

    public static AlignedBufferPool Shared { get; } = new();

    public AlignedBufferPool()
    {
        for (int i = 0; i < _classes.Length; i++) _classes[i] = new ConcurrentStack<nint>();
    }

    /// <summary>Rents a zeroed buffer of <paramref name="length"/> floats.</summary>
    public AlignedBuffer Rent(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length > 1 << MaxClassLog2)
            throw new OutOfMemoryException($"a buffer of {length} floats is larger than the pool's limit of {1 << MaxClassLog2}");
        int log2 = Math.Max(MinClassLog2, BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)Math.Max(length, 1))));
        int capacity = 1 << log2;
        float* p = null;
        if (capacity <= MaxPooledFloats && _classes[log2].TryPop(out nint pooled)) p = (float*)pooled;
        if (p == null)
        {
            p = (float*)NativeMemory.AlignedAlloc((nuint)capacity * sizeof(float), Alignment);
            if (p == null) throw new OutOfMemoryException($"could not allocate {capacity * 4L} bytes");
            // The GC sees only the small managed handle; telling it about the native block makes it
            // collect (and finalize) dropped sessions before their native memory piles up.
            GC.AddMemoryPressure(capacity * 4L);
            Interlocked.Add(ref s_nativeBytes, capacity * 4L);
        }
        NativeMemory.Clear(p, (nuint)capacity * sizeof(float));
        return new AlignedBuffer(p, length, capacity, capacity <= MaxPooledFloats ? this : null);
    }

    internal void Return(float* p, int capacity)
    {
        int log2 = BitOperations.Log2((uint)capacity);
        var stack = _classes[log2];
        if (stack.Count < MaxRetainedPerClass) stack.Push((nint)p);
        else Free(p, capacity);
    }

    internal static void Free(float* p, int capacity)
    {
        NativeMemory.AlignedFree(p);
        GC.RemoveMemoryPressure(capacity * 4L);
        Interlocked.Add(ref s_nativeBytes, -capacity * 4L);
    }
}
