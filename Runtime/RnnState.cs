using RnnRuntime.Memory;
using RnnRuntime.Model;

namespace RnnRuntime;

/// <summary>
/// The mutable state of one session and the backend's scratch beside it. Its values are the
/// recurrent modules' states in network order, each h (L*D, B, H) then, for an LSTM, c (L*D, B, H)
/// (h is (L*D, B, P) for an LSTM with proj_size P) (<see cref="RnnNetwork.StateOffset"/>). Made by a backend's prepared model for one batch size; the
/// session calls Step and Run on it after checking every length and value, so a backend needs no
/// cast back from a shared base to its own state.
/// </summary>
internal abstract class RnnState : IDisposable
{
    private int _disposed;
    private int _leased;

    /// <summary>Takes a lease on the model: its prepared weights and device objects stay until the last
    /// state made from it is gone, even when the model is disposed first.</summary>
    protected RnnState(RnnModel model, int batchSize)
    {
        Model = model;
        BatchSize = batchSize;
        Length = model.StateLength(batchSize);
        model.AcquireLease();
        _leased = 1;
    }

    public RnnModel Model { get; }
    public int BatchSize { get; }

    /// <summary>Floats in GetState/SetState.</summary>
    public int Length { get; }

    /// <summary>Zeroes every module's h (and c).</summary>
    public abstract void Reset();

    public abstract void CopyTo(Span<float> destination);

    public abstract void CopyFrom(ReadOnlySpan<float> source);

    /// <summary>One step of a unidirectional network: x [B, I] -> y [B, O]; lengths and values already checked.</summary>
    internal abstract void Step(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>A sequence, from and updating the state: xs [T, B, I] -> ys [T, B, O]; already checked.</summary>
    internal abstract void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys);

    /// <param name="disposing">false on the finalizer thread: release only native and device
    /// objects (managed members may already be finalized, and release themselves).</param>
    protected virtual void Dispose(bool disposing) { }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Dispose(true);
        ReleaseLease();
        GC.SuppressFinalize(this);
    }

    /// <summary>A state nobody disposed (its session was dropped) gives back what it holds when the GC finds it.</summary>
    ~RnnState()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Dispose(false);
        ReleaseLease();
    }

    private void ReleaseLease()
    {
        if (Interlocked.Exchange(ref _leased, 0) == 1) Model.ReleaseLease();
    }
}

/// <summary>
/// State kept in host memory (the reference and CPU backends): one pinned, 64-byte-aligned buffer
/// rented from <see cref="AlignedBufferPool"/>, in the GetState layout, so Get/SetState are one copy.
/// </summary>
internal abstract unsafe class HostRnnState : RnnState
{
    // Where each (module, layer, direction)'s h and c start, found once: a step asks for them per layer.
    private readonly nint[] _h, _c;
    private readonly int[] _firstSlot, _directions;

    protected HostRnnState(RnnModel model, int batchSize) : base(model, batchSize)
    {
        Values = AlignedBufferPool.Shared.Rent(Length);
        IReadOnlyList<RecurrentLayer> modules = model.Network.Recurrent;
        _firstSlot = new int[modules.Count];
        _directions = new int[modules.Count];
        int slots = 0;
        for (int m = 0; m < modules.Count; m++)
        {
            _firstSlot[m] = slots;
            _directions[m] = modules[m].NumDirections;
            slots += modules[m].NumLayers * modules[m].NumDirections;
        }
        _h = new nint[slots];
        _c = new nint[slots];
        for (int m = 0; m < modules.Count; m++)
        {
            RecurrentLayer r = modules[m];
            float* module = Values.Pointer + model.Network.StateOffset(m, batchSize);
            float* cells = module + (nint)r.NumLayers * r.NumDirections * batchSize * r.HiddenWidth;
            for (int k = 0; k < r.NumLayers * r.NumDirections; k++)
            {
                _h[_firstSlot[m] + k] = (nint)(module + (nint)k * batchSize * r.HiddenWidth);
                _c[_firstSlot[m] + k] = r.Spec.HasCellState ? (nint)(cells + (nint)k * batchSize * r.HiddenSize) : 0;
            }
        }
    }

    /// <summary>Every module's h and c, in the GetState layout.</summary>
    public AlignedBuffer Values { get; }

    /// <summary>h of recurrent module <paramref name="module"/>, one layer and direction: (B, H), or (B, P) with a projection.</summary>
    public Span<float> HiddenOf(int module, int layer, int direction) => new(HiddenPointer(module, layer, direction), BatchSize * Model.Network.Recurrent[module].HiddenWidth);

    /// <summary>c of an LSTM module, one layer and direction: (B, H).</summary>
    public Span<float> CellOf(int module, int layer, int direction) => new(CellPointer(module, layer, direction), BatchSize * Model.Network.Recurrent[module].HiddenSize);

    public float* HiddenPointer(int module, int layer, int direction) => (float*)_h[_firstSlot[module] + layer * _directions[module] + direction];

    /// <summary>c of an LSTM module (B, H, after all of the module's h), or null for the other cells.</summary>
    public float* CellPointer(int module, int layer, int direction) => (float*)_c[_firstSlot[module] + layer * _directions[module] + direction];

    public override void Reset() => Values.Clear();

    public override void CopyTo(Span<float> destination) => Values.Span.CopyTo(destination);

    public override void CopyFrom(ReadOnlySpan<float> source) => source.CopyTo(Values.Span);

    protected override void Dispose(bool disposing)
    {
        if (disposing) Values.Dispose();
    }
}
