namespace RnnRuntime;

/// <summary>
/// Many streams in one session: slot b (0..B-1) of a batch-B session is a stream of its own, with its own
/// state. A stream joins by <see cref="Reset(int)"/> or <see cref="SetState(int, ReadOnlySpan{float})"/>
/// of its slot and leaves by not being listed; a Step over some slots changes only theirs, and a slot's
/// results do not depend on which or how many other slots are listed.
/// </summary>
public sealed partial class RnnSession
{
    /// <summary>Floats of one slot's state: the <see cref="GetState(Span{float})"/> layout of a batch-1 session.</summary>
    public int SlotStateLength => _state.SlotLength;

    /// <summary>Zeroes slot <paramref name="slot"/>'s h (and c); every other slot keeps its state.</summary>
    public void Reset(int slot)
    {
        RnnState s = Enter();
        try
        {
            CheckSlot(slot);
            s.ResetSlot(slot);
        }
        finally
        {
            Leave();
        }
    }

    /// <summary>Copies out slot <paramref name="slot"/>'s state, in the layout of a batch-1 session's state (<see cref="SlotStateLength"/> floats).</summary>
    public void GetState(int slot, Span<float> state)
    {
        RnnState s = Enter();
        try
        {
            CheckSlot(slot);
            if (state.Length != s.SlotLength) throw LengthError(nameof(state), state.Length, s.SlotLength, "one slot's state: " + SlotStateShape());
            s.CopySlotTo(slot, state);
        }
        finally
        {
            Leave();
        }
    }

    /// <summary>Replaces slot <paramref name="slot"/>'s state (layout as <see cref="GetState(int, Span{float})"/>); every value must be finite.</summary>
    public void SetState(int slot, ReadOnlySpan<float> state)
    {
        RnnState s = Enter();
        try
        {
            CheckSlot(slot);
            if (state.Length != s.SlotLength) throw LengthError(nameof(state), state.Length, s.SlotLength, "one slot's state: " + SlotStateShape());
            InputValidation.ThrowIfNonFinite(state, nameof(state));
            s.CopySlotFrom(slot, state);
        }
        finally
        {
            Leave();
        }
    }

    /// <summary>
    /// One time step of the slots listed in <paramref name="active"/> only: x [k, I] -> y [k, O] with
    /// k = active.Length, row j being slot active[j]. Only those slots' states change; the work is that of
    /// k rows. A slot's results are bit-identical (CPU backends) to stepping it alone. An empty list does
    /// nothing. Reference and CPU backends.
    /// </summary>
    public void Step(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<int> active)
    {
        RnnState state = Enter();
        try
        {
            if (_model.IsBidirectional)
                throw new InvalidOperationException("Step is defined for unidirectional models only: a bidirectional layer needs the whole sequence. Use Run.");
            state.CheckSlots(active, nameof(active));
            // Every slot in order is the plain Step, which every backend runs.
            if (!IsEverySlot(active)) RequireStreams(state, "Step over a list of active slots");
            int k = active.Length;
            if (x.Length != (long)k * _model.InputSize) throw LengthError(nameof(x), x.Length, (long)k * _model.InputSize, $"{k} active slots x input {_model.InputSize}");
            if (y.Length != (long)k * _model.OutputSize) throw LengthError(nameof(y), y.Length, (long)k * _model.OutputSize, $"{k} active slots x {_model.OutputSize} outputs");
            InputValidation.ThrowIfNonFinite(x, nameof(x));
            if (x.Overlaps(y)) throw new ArgumentException("x and y must not overlap", nameof(y));
            if (active.Length == BatchSize && IsEverySlot(active)) state.Step(x, y);
            else state.Step(active, x, y);
        }
        finally
        {
            Leave();
        }
    }

    /// <summary>
    /// <see cref="Run(ReadOnlySpan{float}, int, Span{float})"/> with the rows in <paramref name="layout"/>:
    /// <see cref="RnnSequenceLayout.BatchFirst"/> takes xs [B, T, I] and writes ys [B, T, O].
    /// </summary>
    public void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys, RnnSequenceLayout layout) =>
        RunStreams(xs, steps, ys, allSlots: true, default, default, hasLengths: false, layout);

    /// <summary>
    /// Sequences of their own lengths (PyTorch's packed sequences): sequence b runs
    /// <paramref name="lengths"/>[b] steps (1..steps; B of them, in any order); its outputs past its end are
    /// zero (as pad_packed_sequence gives), a bidirectional layer's backward pass starts at its own last step,
    /// and the state left in slot b is the sequence's state at its own end. xs [T, B, I] -> ys [T, B, O], or
    /// [B, T, I] -> [B, T, O] with <see cref="RnnSequenceLayout.BatchFirst"/>. Reference and CPU backends.
    /// </summary>
    public void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys, ReadOnlySpan<int> lengths) =>
        RunStreams(xs, steps, ys, allSlots: true, default, lengths, hasLengths: true, RnnSequenceLayout.TimeMajor);

    /// <summary><see cref="Run(ReadOnlySpan{float}, int, Span{float}, ReadOnlySpan{int})"/> with the rows in
    /// <paramref name="layout"/> (batch-first: xs [B, T, I] -> ys [B, T, O]).</summary>
    public void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys, ReadOnlySpan<int> lengths, RnnSequenceLayout layout) =>
        RunStreams(xs, steps, ys, allSlots: true, default, lengths, hasLengths: true, layout);

    /// <summary>
    /// A sequence over the slots listed in <paramref name="active"/> only (k of them): xs [T, k, I] -> ys
    /// [T, k, O] (or [k, T, I] -> [k, T, O] batch-first), row j being slot active[j]; only those slots' states
    /// change. Reference and CPU backends.
    /// </summary>
    public void RunActive(ReadOnlySpan<float> xs, int steps, Span<float> ys, ReadOnlySpan<int> active, RnnSequenceLayout layout = RnnSequenceLayout.TimeMajor) =>
        RunStreams(xs, steps, ys, allSlots: false, active, default, hasLengths: false, layout);

    /// <summary>
    /// <see cref="RunActive(ReadOnlySpan{float}, int, Span{float}, ReadOnlySpan{int}, RnnSequenceLayout)"/> with
    /// a length per listed slot (lengths[j] for slot active[j]), as
    /// <see cref="Run(ReadOnlySpan{float}, int, Span{float}, ReadOnlySpan{int})"/>.
    /// </summary>
    public void RunActive(ReadOnlySpan<float> xs, int steps, Span<float> ys, ReadOnlySpan<int> active, ReadOnlySpan<int> lengths, RnnSequenceLayout layout = RnnSequenceLayout.TimeMajor) =>
        RunStreams(xs, steps, ys, allSlots: false, active, lengths, hasLengths: true, layout);

    private void RunStreams(ReadOnlySpan<float> xs, int steps, Span<float> ys, bool allSlots, ReadOnlySpan<int> active, ReadOnlySpan<int> lengths, bool hasLengths, RnnSequenceLayout layout)
    {
        RnnState state = Enter();
        try
        {
            ArgumentOutOfRangeException.ThrowIfNegative(steps);
            if (layout is not (RnnSequenceLayout.TimeMajor or RnnSequenceLayout.BatchFirst))
                throw new ArgumentOutOfRangeException(nameof(layout), layout, "not a sequence layout");
            if (!allSlots) state.CheckSlots(active, nameof(active));
            // Every slot in order, whole sequences, time-major is the plain Run, which every backend runs.
            bool plain = (allSlots || IsEverySlot(active)) && !hasLengths && layout == RnnSequenceLayout.TimeMajor;
            if (!plain) RequireStreams(state, !allSlots ? "Run over a list of active slots" : hasLengths ? "Run with sequence lengths" : "Run with the batch-first layout");
            int k = allSlots ? BatchSize : active.Length;
            if (xs.Length != (long)steps * k * _model.InputSize)
                throw LengthError(nameof(xs), xs.Length, (long)steps * k * _model.InputSize, $"{SequenceShape(allSlots, k, steps, layout)} x input {_model.InputSize}");
            if (ys.Length != (long)steps * k * _model.OutputSize)
                throw LengthError(nameof(ys), ys.Length, (long)steps * k * _model.OutputSize, $"{SequenceShape(allSlots, k, steps, layout)} x {_model.OutputSize} outputs");
            if (hasLengths)
            {
                if (lengths.Length != k)
                    throw new RnnShapeException($"lengths has {lengths.Length} entries; expected {k}, one per {(allSlots ? "sequence of the batch" : "active slot")}", nameof(lengths));
                for (int j = 0; j < k; j++)
                    if (lengths[j] < 1 || lengths[j] > steps)
                        throw new ArgumentOutOfRangeException(nameof(lengths), lengths[j], $"lengths[{j}] = {lengths[j]}; a sequence's length must be in 1..steps ({steps})");
            }
            if (steps == 0 || k == 0) return;
            InputValidation.ThrowIfNonFinite(xs, nameof(xs));
            if (xs.Overlaps(ys)) throw new ArgumentException("xs and ys must not overlap", nameof(ys));
            if (plain) state.Run(xs, steps, ys);
            else state.Run(xs, steps, ys, allSlots, active, hasLengths ? lengths : default, layout == RnnSequenceLayout.BatchFirst);
        }
        finally
        {
            Leave();
        }
    }

    // Messages are built only on failure.
    private string SequenceShape(bool allSlots, int k, int steps, RnnSequenceLayout layout)
    {
        string rows = allSlots ? $"batch {BatchSize}" : $"{k} active slots";
        return layout == RnnSequenceLayout.BatchFirst ? $"{rows} x {steps} steps" : $"{steps} steps x {rows}";
    }

    private bool IsEverySlot(ReadOnlySpan<int> active)
    {
        if (active.Length != BatchSize) return false;
        for (int i = 0; i < active.Length; i++)
            if (active[i] != i) return false;
        return true;
    }

    private void CheckSlot(int slot)
    {
        if ((uint)slot >= (uint)BatchSize)
            throw new ArgumentOutOfRangeException(nameof(slot), slot, $"slot {slot} is not a slot of this session (0..{BatchSize - 1})");
    }

    private void RequireStreams(RnnState state, string feature)
    {
        if (!state.SupportsStreams)
            throw new RnnBackendUnavailableException($"{feature} is not implemented on the {_model.Backend} backend (reference and CPU backends only); use a session per stream, or the whole batch");
    }

    private string SlotStateShape() => string.Join(", then ", _model.Network.Recurrent.Select(r =>
        r.ProjSize > 0
            ? $"h {r.NumLayers * r.NumDirections} x proj {r.ProjSize}, then c {r.NumLayers * r.NumDirections} x hidden {r.HiddenSize}"
            : $"{(r.Spec.HasCellState ? "h and c, each " : "h ")}{r.NumLayers * r.NumDirections} x hidden {r.HiddenSize}"));
}
