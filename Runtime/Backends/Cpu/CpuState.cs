using RnnRuntime.Memory;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// A session's state on a CPU backend: h and c (in the base class) plus the kernels' scratch, all in
/// pooled, pinned, 64-byte-aligned native memory. The sequence-sized buffers grow on the first Run
/// that needs more (from the pool), then are reused, so steady-state Step and Run allocate nothing.
/// </summary>
internal sealed unsafe class CpuState : RnnState
{
    private AlignedBuffer _gx, _seq0, _seq1;

    public CpuState(RnnModel model, int batchSize, int columnFloats, int paddedHidden, int vector) : base(model, batchSize)
    {
        ColumnFloats = columnFloats;
        PaddedHidden = paddedHidden;
        _gx = AlignedBufferPool.Shared.Rent(batchSize * columnFloats);
        Gh = AlignedBufferPool.Shared.Rent(batchSize * columnFloats);
        HNew = AlignedBufferPool.Shared.Rent(batchSize * paddedHidden);
        Tail = AlignedBufferPool.Shared.Rent(2 * vector);
        _seq0 = AlignedBufferPool.Shared.Rent(0);
        _seq1 = AlignedBufferPool.Shared.Rent(0);
    }

    /// <summary>Whether the next Step walks the weights backwards (alternates; see CpuPrepared.CellStep).</summary>
    public bool NextStepMirrored;

    /// <summary>Floats in one packed row of gate sums: PaddedColumns * V.</summary>
    public int ColumnFloats { get; }

    /// <summary>H rounded up to whole vectors.</summary>
    public int PaddedHidden { get; }

    /// <summary>W_hh h (+ b_hn) of one step, (B, ColumnFloats).</summary>
    public AlignedBuffer Gh { get; }

    /// <summary>The new h of one step, (B, PaddedHidden), before it replaces h.</summary>
    public AlignedBuffer HNew { get; }

    /// <summary>Padded copies of h and c for the last, partial group of units (2 x V floats).</summary>
    public AlignedBuffer Tail { get; }

    /// <summary>W_ih x + bias for <paramref name="rows"/> rows (B in Step, a chunk of T*B in Run): (rows, ColumnFloats).</summary>
    public float* Gx(int rows) => Ensure(ref _gx, (long)rows * ColumnFloats);

    /// <summary>Output of an inner layer, the next layer's input: (T*B, D*H); two alternate.</summary>
    public float* Sequence(int which, long floats) => which == 0 ? Ensure(ref _seq0, floats) : Ensure(ref _seq1, floats);

    private static float* Ensure(ref AlignedBuffer buffer, long floats)
    {
        if (buffer.Capacity < floats)
        {
            if (floats > int.MaxValue) throw new OutOfMemoryException($"a scratch buffer of {floats} floats is too large; run the sequence in shorter pieces");
            AlignedBuffer bigger = AlignedBufferPool.Shared.Rent((int)floats);
            buffer.Dispose();
            buffer = bigger;
        }
        return buffer.Pointer;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gx.Dispose();
            _seq0.Dispose();
            _seq1.Dispose();
            Gh.Dispose();
            HNew.Dispose();
            Tail.Dispose();
        }
        base.Dispose(disposing);
    }
}
