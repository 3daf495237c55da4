using RnnRuntime.Memory;

namespace RnnRuntime;

/// <summary>
/// The mutable state of one session: h (L*D, B, H) and, for LSTM, c (L*D, B, H), in pinned aligned
/// memory rented from <see cref="AlignedBufferPool"/>. Backends derive from it to keep their scratch
/// beside it, or to keep the state on a device (then they override Reset/CopyTo/CopyFrom).
/// </summary>
public class RnnState : IDisposable
{
    private bool _disposed;

    public RnnState(RnnModel model, int batchSize)
    {
        Model = model;
        BatchSize = batchSize;
        int slice = model.NumLayers * model.NumDirections * batchSize * model.HiddenSize;
        H = AlignedBufferPool.Shared.Rent(slice);
        C = model.Cell == RnnCellKind.Lstm ? AlignedBufferPool.Shared.Rent(slice) : null;
    }

    public RnnModel Model { get; }
    public int BatchSize { get; }

    /// <summary>h, (L*D, B, H).</summary>
    public AlignedBuffer H { get; }

    /// <summary>c, (L*D, B, H), LSTM only.</summary>
    public AlignedBuffer? C { get; }

    /// <summary>Floats in GetState/SetState: h, then c for LSTM.</summary>
    public int Length => H.Length + (C?.Length ?? 0);

    /// <summary>h of one layer and direction: (B, H).</summary>
    public Span<float> HiddenOf(int layer, int direction) => Slice(H, layer, direction);

    /// <summary>c of one layer and direction: (B, H). LSTM only.</summary>
    public Span<float> CellOf(int layer, int direction) => Slice(C ?? throw new InvalidOperationException("only an LSTM has a cell state"), layer, direction);

    private Span<float> Slice(AlignedBuffer buffer, int layer, int direction)
    {
        int n = BatchSize * Model.HiddenSize;
        return buffer.Span.Slice((layer * Model.NumDirections + direction) * n, n);
    }

    public virtual void Reset()
    {
        H.Clear();
        C?.Clear();
    }

    public virtual void CopyTo(Span<float> destination)
    {
        H.Span.CopyTo(destination);
        C?.Span.CopyTo(destination[H.Length..]);
    }

    public virtual void CopyFrom(ReadOnlySpan<float> source)
    {
        source[..H.Length].CopyTo(H.Span);
        if (C is not null) source.Slice(H.Length, C.Length).CopyTo(C.Span);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (_disposed) return;
        _disposed = true;
        if (disposing)
        {
            H.Dispose();
            C?.Dispose();
        }
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}
