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
        FindSlotBlocks();
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

    // ---- Many streams: slot b of the B rows is a stream of its own (see RnnSession.Step(x, y, active)). ----

    /// <summary>Floats of one slot's state: the GetState layout with B = 1.</summary>
    public int SlotLength => Length / BatchSize;

    /// <summary>Whether Step and Run over a subset of the slots, per-sequence lengths and the batch-first
    /// layout run on this backend (the host backends); the per-slot Reset/GetState/SetState run everywhere.</summary>
    internal virtual bool SupportsStreams => false;

    /// <summary>One slot's state is a row of every (module, h or c, layer and direction) block: block i
    /// holds B rows of <see cref="SlotWidth"/>[i] floats starting at B * <see cref="SlotUnit"/>[i], and the
    /// slot's own state (B = 1) is the blocks' rows one after another (block i at SlotUnit[i]). With k
    /// rows instead of B the same formula gives the compact layout of a gathered call.</summary>
    private protected long[] SlotUnit = [];
    private protected int[] SlotWidth = [];

    private float[]? _wholeState;   // the slot operations of a backend whose state is not in host memory
    private int[]? _slotMarks;      // CheckSlots: the stamp of the call that last listed each slot
    private int _slotStamp;

    /// <summary>The blocks of one slot's state (called once by the constructor of a state that uses them).</summary>
    private protected void FindSlotBlocks()
    {
        var units = new List<long>();
        var widths = new List<int>();
        IReadOnlyList<RecurrentLayer> modules = Model.Network.Recurrent;
        for (int m = 0; m < modules.Count; m++)
        {
            RecurrentLayer r = modules[m];
            long start = Model.Network.StateOffset(m, 1);
            int n = r.NumLayers * r.NumDirections;
            for (int k = 0; k < n; k++) { units.Add(start + (long)k * r.HiddenWidth); widths.Add(r.HiddenWidth); }
            if (r.Spec.HasCellState)
                for (int k = 0; k < n; k++) { units.Add(start + (long)n * r.HiddenWidth + (long)k * r.HiddenSize); widths.Add(r.HiddenSize); }
        }
        SlotUnit = [.. units];
        SlotWidth = [.. widths];
    }

    /// <summary>Copies slot <paramref name="slot"/> of a whole state <paramref name="whole"/> (B rows) to <paramref name="destination"/> (B = 1 layout).</summary>
    private protected void SlotOf(ReadOnlySpan<float> whole, int slot, Span<float> destination)
    {
        for (int i = 0; i < SlotUnit.Length; i++)
        {
            int w = SlotWidth[i];
            whole.Slice((int)(SlotUnit[i] * BatchSize) + slot * w, w).CopyTo(destination.Slice((int)SlotUnit[i], w));
        }
    }

    /// <summary>Replaces slot <paramref name="slot"/> of <paramref name="whole"/> with <paramref name="source"/> (B = 1 layout), or zeroes it when source is empty.</summary>
    private protected void SetSlotOf(Span<float> whole, int slot, ReadOnlySpan<float> source)
    {
        for (int i = 0; i < SlotUnit.Length; i++)
        {
            int w = SlotWidth[i];
            Span<float> row = whole.Slice((int)(SlotUnit[i] * BatchSize) + slot * w, w);
            if (source.IsEmpty) row.Clear();
            else source.Slice((int)SlotUnit[i], w).CopyTo(row);
        }
    }

    /// <summary>Zeroes one slot's h (and c). This default goes through a host copy of the whole state.</summary>
    public virtual void ResetSlot(int slot)
    {
        Span<float> whole = WholeState();
        CopyTo(whole);
        SetSlotOf(whole, slot, default);
        CopyFrom(whole);
    }

    /// <summary>One slot's state (B = 1 layout). This default goes through a host copy of the whole state.</summary>
    public virtual void CopySlotTo(int slot, Span<float> destination)
    {
        Span<float> whole = WholeState();
        CopyTo(whole);
        SlotOf(whole, slot, destination);
    }

    /// <summary>Replaces one slot's state (B = 1 layout). This default goes through a host copy of the whole state.</summary>
    public virtual void CopySlotFrom(int slot, ReadOnlySpan<float> source)
    {
        Span<float> whole = WholeState();
        CopyTo(whole);
        SetSlotOf(whole, slot, source);
        CopyFrom(whole);
    }

    private Span<float> WholeState()
    {
        return _wholeState ??= new float[Length];
    }

    /// <summary>
    /// Checks a list of slots (Step's active, Run's active) without allocating: at most B of them, each in
    /// 0..B-1, none twice. The stamps live here, made on the first call that lists slots.
    /// </summary>
    internal void CheckSlots(ReadOnlySpan<int> slots, string param)
    {
        if (slots.Length > BatchSize)
            throw new RnnShapeException($"{param} lists {slots.Length} slots; the session has {BatchSize}", param);
        int[] marks = _slotMarks ??= new int[BatchSize];
        if (++_slotStamp == int.MaxValue)
        {
            Array.Clear(marks);
            _slotStamp = 1;
        }
        int stamp = _slotStamp;
        for (int i = 0; i < slots.Length; i++)
        {
            int slot = slots[i];
            if ((uint)slot >= (uint)BatchSize)
                throw new ArgumentOutOfRangeException(param, slot, $"{param}[{i}] = {slot} is not a slot of this session (0..{BatchSize - 1})");
            if (marks[slot] == stamp)
                throw new ArgumentException($"{param} lists slot {slot} twice (at {param}[{slots[..i].IndexOf(slot)}] and {param}[{i}])", param);
            marks[slot] = stamp;
        }
    }

    /// <summary>One step of the listed slots only: x [k, I] -> y [k, O], row j being slot active[j]; already checked.</summary>
    internal virtual void Step(ReadOnlySpan<int> active, ReadOnlySpan<float> x, Span<float> y) => throw new NotSupportedException();

    /// <summary>
    /// Sequences of the listed slots (every slot, in order, when <paramref name="allSlots"/>), each of its own
    /// length (every one <paramref name="steps"/> when lengths is empty), time-major [T, k, I] or batch-first
    /// [k, T, I]; outputs past a sequence's end are zero; already checked.
    /// </summary>
    internal virtual void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys, bool allSlots, ReadOnlySpan<int> active, ReadOnlySpan<int> lengths, bool batchFirst) =>
        throw new NotSupportedException();

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
/// <para>
/// Many streams: a call over some of the slots gathers their rows of every h and c block into a
/// second buffer in the layout of a batch of k = (number of slots) (<see cref="Rows"/> = k), runs the
/// ordinary code on those k rows, and scatters the new rows back; the other slots' rows are never
/// touched. The kernels read h and c only through <see cref="HiddenPointer"/> and <see cref="CellPointer"/>
/// and size their loops by <see cref="Rows"/>, so they do not know which layout they run on.
/// </para>
/// </summary>
internal abstract unsafe class HostRnnState : RnnState
{
    // Per (module, layer, direction): where its h and c start per row of the batch (times Rows).
    private readonly long[] _hUnit, _cUnit;
    private readonly int[] _firstSlot, _directions;
    private float* _base;
    private AlignedBuffer? _gathered, _seqIn, _seqOut;
    // A packed run (RunPacked): the rows running at each step while it runs (else null), and its scratch.
    private int[]? _running, _runningBuffer, _order, _keys, _sortedSlots;

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
        _hUnit = new long[slots];
        _cUnit = new long[slots];
        for (int m = 0; m < modules.Count; m++)
        {
            RecurrentLayer r = modules[m];
            long module = model.Network.StateOffset(m, 1);
            long cells = module + (long)r.NumLayers * r.NumDirections * r.HiddenWidth;
            for (int k = 0; k < r.NumLayers * r.NumDirections; k++)
            {
                _hUnit[_firstSlot[m] + k] = module + (long)k * r.HiddenWidth;
                _cUnit[_firstSlot[m] + k] = r.Spec.HasCellState ? cells + (long)k * r.HiddenSize : -1;
            }
        }
        _base = Values.Pointer;
        Rows = batchSize;
    }

    /// <summary>Every module's h and c, in the GetState layout.</summary>
    public AlignedBuffer Values { get; }

    /// <summary>Rows of the call now running: B, or k in a call over k of the slots (the h and c pointers then
    /// point into the gathered copy of those slots' rows).</summary>
    public int Rows { get; private set; }

    /// <summary>h of recurrent module <paramref name="module"/>, one layer and direction: (Rows, H), or (Rows, P) with a projection.</summary>
    public Span<float> HiddenOf(int module, int layer, int direction) => new(HiddenPointer(module, layer, direction), Rows * Model.Network.Recurrent[module].HiddenWidth);

    /// <summary>c of an LSTM module, one layer and direction: (Rows, H).</summary>
    public Span<float> CellOf(int module, int layer, int direction) => new(CellPointer(module, layer, direction), Rows * Model.Network.Recurrent[module].HiddenSize);

    public float* HiddenPointer(int module, int layer, int direction) => _base + Rows * (nint)_hUnit[_firstSlot[module] + layer * _directions[module] + direction];

    /// <summary>c of an LSTM module (Rows, H, after all of the module's h), or null for the other cells.</summary>
    public float* CellPointer(int module, int layer, int direction)
    {
        long unit = _cUnit[_firstSlot[module] + layer * _directions[module] + direction];
        return unit < 0 ? null : _base + Rows * (nint)unit;
    }

    public override void Reset() => Values.Clear();

    public override void CopyTo(Span<float> destination) => Values.Span.CopyTo(destination);

    public override void CopyFrom(ReadOnlySpan<float> source) => source.CopyTo(Values.Span);

    public override void ResetSlot(int slot) => SetSlotOf(Values.Span, slot, default);

    public override void CopySlotTo(int slot, Span<float> destination) => SlotOf(Values.Span, slot, destination);

    public override void CopySlotFrom(int slot, ReadOnlySpan<float> source) => SetSlotOf(Values.Span, slot, source);

    internal override bool SupportsStreams => true;

    internal override void Step(ReadOnlySpan<int> active, ReadOnlySpan<float> x, Span<float> y)
    {
        if (active.IsEmpty) return;
        if (IsEverySlot(active))
        {
            Step(x, y);
            return;
        }
        Gather(active);
        try
        {
            Step(x, y);
            Scatter(active);
        }
        finally
        {
            Ungather();
        }
    }

    internal override void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys, bool allSlots, ReadOnlySpan<int> active, ReadOnlySpan<int> lengths, bool batchFirst)
    {
        int k = allSlots ? BatchSize : active.Length;
        if (k == 0 || steps == 0) return;
        if (lengths.IsEmpty && !batchFirst)
        {
            // Every listed sequence is whole and rows are time-major: one batched run over the k rows.
            if (allSlots) Run(xs, steps, ys);
            else RunOn(active, xs, steps, ys);
            return;
        }
        if (batchFirst && !BatchesSequences)
        {
            RunEach(xs, steps, ys, allSlots, active, lengths);
            return;
        }
        RunPacked(xs, steps, ys, allSlots, active, lengths, batchFirst);
    }

    /// <summary>Whether sequences of their own lengths run batched (<see cref="RunPacked"/>) even where that
    /// costs a copy (batch-first): a panel-path module reads its weights once per step for all rows. Where
    /// rows are computed one at a time anyway (the latency kernel, the reference), batch-first sequences run
    /// one by one in place instead (<see cref="RunEach"/>).</summary>
    internal virtual bool BatchesSequences => false;

    /// <summary>Whether a packed run (sequences of their own lengths) is in progress: the rows running change with t.</summary>
    public bool InPackedRun => _running is not null;

    /// <summary>In a packed run, the rows still running at step t (a prefix of the sorted rows), else <see cref="Rows"/>.</summary>
    public int RowsAt(nint t) => _running is null ? Rows : _running[t];

    /// <summary>In a packed run, zeroes the rows of <paramref name="output"/> (steps x Rows rows of
    /// <paramref name="width"/>) whose sequence has ended; else nothing.</summary>
    public void ZeroPastEnds(float* output, nint width, int steps)
    {
        if (_running is null) return;
        for (int t = 0; t < steps; t++)
        {
            int n = _running[t];
            if (n < Rows) new Span<float>(output + ((nint)t * Rows + n) * width, (int)((Rows - n) * width)).Clear();
        }
    }

    public void ZeroPastEnds(Span<float> output, int width, int steps)
    {
        fixed (float* o = output) ZeroPastEnds(o, width, steps);
    }

    /// <summary>
    /// Sequences of their own lengths, batched: the k rows sorted by length (longest first, so the sequences
    /// still running at step t are the first <see cref="RowsAt"/>(t) rows), gathered with their states, run
    /// over the longest length with each recurrent step over the running rows only, and put back. Rows
    /// already in that order (every slot, time-major, lengths not increasing) run in place, without a copy.
    /// </summary>
    private void RunPacked(ReadOnlySpan<float> xs, int steps, Span<float> ys, bool allSlots, ReadOnlySpan<int> active, ReadOnlySpan<int> lengths, bool batchFirst)
    {
        int k = allSlots ? BatchSize : active.Length, I = Model.InputSize, O = Model.OutputSize;
        Span<int> order = Ints(ref _order, k), keys = Ints(ref _keys, k), slots = Ints(ref _sortedSlots, k);
        for (int j = 0; j < k; j++)
        {
            order[j] = j;
            keys[j] = -(lengths.IsEmpty ? steps : lengths[j]);
        }
        keys.Sort(order);
        int longest = -keys[0];
        Span<int> running = Ints(ref _runningBuffer, longest);
        bool inPlace = !batchFirst && (allSlots || IsEverySlot(active));
        for (int j = 0; j < k; j++)
        {
            slots[j] = allSlots ? order[j] : active[order[j]];
            inPlace &= order[j] == j;
        }
        for (int t = 0, n = k; t < longest; t++)
        {
            while (-keys[n - 1] <= t) n--;
            running[t] = n;
        }
        if (inPlace)
        {
            _running = _runningBuffer;
            try
            {
                Run(xs[..(longest * k * I)], longest, ys[..(longest * k * O)]);
            }
            finally
            {
                _running = null;
            }
            // Rows past each end: zero, whatever the layers after the last recurrent one made of them.
            for (int t = 0; t < steps; t++)
            {
                int n = t < longest ? running[t] : 0;
                ys.Slice((t * k + n) * O, (k - n) * O).Clear();
            }
            return;
        }

        // Row j of the run is sequence order[j]: its inputs, state and outputs move to and from there.
        Span<float> xg = Scratch(ref _seqIn, longest * k * I), yg = Scratch(ref _seqOut, longest * k * O);
        for (int t = 0; t < longest; t++)
            for (int j = 0; j < k; j++)
            {
                Span<float> row = xg.Slice((t * k + j) * I, I);
                if (t < -keys[j]) xs.Slice(SourceRow(order[j], t, k, steps, batchFirst) * I, I).CopyTo(row);
                else row.Clear();
            }
        bool gather = !(k == BatchSize && IsEverySlot(slots));
        if (gather) Gather(slots);
        _running = _runningBuffer;
        try
        {
            Run(xg, longest, yg);
            if (gather) Scatter(slots);
        }
        finally
        {
            _running = null;
            if (gather) Ungather();
        }
        for (int j = 0; j < k; j++)
            for (int t = 0; t < steps; t++)
            {
                Span<float> row = ys.Slice(SourceRow(order[j], t, k, steps, batchFirst) * O, O);
                if (t < -keys[j]) yg.Slice((t * k + j) * O, O).CopyTo(row);
                else row.Clear();
            }
    }

    private static int SourceRow(int sequence, int t, int k, int steps, bool batchFirst) => batchFirst ? sequence * steps + t : t * k + sequence;

    /// <summary>
    /// Sequence by sequence, each on its own slot's state (a gathered batch of one): a bidirectional
    /// layer's backward pass then starts at the sequence's own last step, as PyTorch's packed sequences.
    /// Batch-first rows of a sequence are contiguous, so they are read and written in place.
    /// </summary>
    private void RunEach(ReadOnlySpan<float> xs, int steps, Span<float> ys, bool allSlots, ReadOnlySpan<int> active, ReadOnlySpan<int> lengths)
    {
        int k = allSlots ? BatchSize : active.Length, I = Model.InputSize, O = Model.OutputSize;
        for (int j = 0; j < k; j++)
        {
            int slot = allSlots ? j : active[j];
            int length = lengths.IsEmpty ? steps : lengths[j];
            ys.Slice((j * steps + length) * O, (steps - length) * O).Clear();
            RunOne(slot, xs.Slice(j * steps * I, length * I), length, ys.Slice(j * steps * O, length * O));
        }
    }

    private static Span<int> Ints(ref int[]? buffer, int count)
    {
        if (buffer is null || buffer.Length < count) buffer = new int[Math.Max(count, 16)];
        return buffer.AsSpan(0, count);
    }

    /// <summary>One sequence on one slot's state.</summary>
    private void RunOne(int slot, ReadOnlySpan<float> x, int steps, Span<float> y) => RunOn(new ReadOnlySpan<int>(in slot), x, steps, y);

    /// <summary>Whole time-major sequences on the listed slots: the plain Run over all of them, or over their
    /// rows gathered into a batch of their own and scattered back.</summary>
    private void RunOn(ReadOnlySpan<int> slots, ReadOnlySpan<float> xs, int steps, Span<float> ys)
    {
        if (IsEverySlot(slots))
        {
            Run(xs, steps, ys);
            return;
        }
        Gather(slots);
        try
        {
            Run(xs, steps, ys);
            Scatter(slots);
        }
        finally
        {
            Ungather();
        }
    }

    private bool IsEverySlot(ReadOnlySpan<int> active)
    {
        if (active.Length != BatchSize) return false;
        for (int i = 0; i < active.Length; i++)
            if (active[i] != i) return false;
        return true;
    }

    /// <summary>The listed slots' rows of every block into the gathered buffer, in the layout of a batch of
    /// active.Length; h and c pointers and <see cref="Rows"/> follow until <see cref="Ungather"/>.</summary>
    private void Gather(ReadOnlySpan<int> active)
    {
        int k = active.Length, B = BatchSize;
        _gathered ??= AlignedBufferPool.Shared.Rent(Length);
        float* g = _gathered.Pointer, v = Values.Pointer;
        for (int i = 0; i < SlotUnit.Length; i++)
        {
            nint w = SlotWidth[i];
            float* from = v + (nint)SlotUnit[i] * B, to = g + (nint)SlotUnit[i] * k;
            for (int j = 0; j < k; j++)
                new ReadOnlySpan<float>(from + active[j] * w, (int)w).CopyTo(new Span<float>(to + j * w, (int)w));
        }
        _base = g;
        Rows = k;
    }

    /// <summary>The gathered rows back to their slots.</summary>
    private void Scatter(ReadOnlySpan<int> active)
    {
        int k = active.Length, B = BatchSize;
        float* g = _gathered!.Pointer, v = Values.Pointer;
        for (int i = 0; i < SlotUnit.Length; i++)
        {
            nint w = SlotWidth[i];
            float* to = v + (nint)SlotUnit[i] * B, from = g + (nint)SlotUnit[i] * k;
            for (int j = 0; j < k; j++)
                new ReadOnlySpan<float>(from + j * w, (int)w).CopyTo(new Span<float>(to + active[j] * w, (int)w));
        }
    }

    private void Ungather()
    {
        _base = Values.Pointer;
        Rows = BatchSize;
    }

    /// <summary>A grow-only scratch buffer (rented on the first call that needs it, then reused).</summary>
    private static Span<float> Scratch(ref AlignedBuffer? buffer, int floats)
    {
        if (buffer is null || buffer.Length < floats)
        {
            buffer?.Dispose();
            buffer = AlignedBufferPool.Shared.Rent(Math.Max(floats, 1));
        }
        return buffer.Span[..floats];
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Values.Dispose();
            _gathered?.Dispose();
            _seqIn?.Dispose();
            _seqOut?.Dispose();
        }
    }
}
