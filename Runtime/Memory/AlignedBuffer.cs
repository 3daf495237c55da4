using System.Runtime.CompilerServices;

namespace RnnRuntime.Memory;

/// <summary>
/// A block of native memory, 64-byte aligned (one cache line, one AVX-512 vector), that the GC never
/// moves: kernels may keep raw pointers into it. Rented from <see cref="AlignedBufferPool"/>;
/// Dispose gives it back (and so does the finalizer of one nobody disposed). Not thread-safe: it
/// belongs to one session.
/// </summary>
internal sealed unsafe class AlignedBuffer : IDisposable
{
    private float* _pointer;
    private readonly AlignedBufferPool? _pool;

    internal AlignedBuffer(float* pointer, int length, int capacity, AlignedBufferPool? pool)
    {
        _pointer = pointer;
        Length = length;
        Capacity = capacity;
        _pool = pool;
    }

    /// <summary>Floats the renter asked for.</summary>
    public int Length { get; }

    /// <summary>Floats actually owned (a pool bucket size, at least <see cref="Length"/>).</summary>
    public int Capacity { get; }

    public float* Pointer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (_pointer == null) ThrowDisposed();
            return _pointer;
        }
    }

    public Span<float> Span => new(Pointer, Length);

    public ref float this[int index] => ref Span[index];

    public bool IsDisposed => _pointer == null;

    public void Clear() => Span.Clear();

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    /// <summary>A buffer nobody disposed goes back when the GC finds it: the native memory of a session
    /// that was only dropped is reclaimed like the managed part.</summary>
    ~AlignedBuffer() => Release();

    private void Release()
    {
        float* p = _pointer;
        if (p == null) return;
        _pointer = null;
        if (_pool is not null) _pool.Return(p, Capacity);
        else AlignedBufferPool.Free(p, Capacity);
    }

    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(AlignedBuffer));
}
