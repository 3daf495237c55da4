namespace RnnRuntime;

/// <summary>
/// One stream (or batch of streams) through a model: owns the hidden state. Belongs to one thread at a
/// time. Step and Run check every length and input value before touching the state, so a rejected call
/// leaves the state as it was; on the hot path they allocate nothing.
/// </summary>
public sealed class RnnSession : IDisposable
{
    private readonly RnnModel _model;
    private RnnState? _state;

    internal RnnSession(RnnModel model, RnnState state)
    {
        _model = model;
        _state = state;
        BatchSize = state.BatchSize;
    }

    public RnnModel Model => _model;
    public int BatchSize { get; }
    /// <summary>Floats in one step's input: B*I.</summary>
    public int InputLength => BatchSize * _model.InputSize;
    /// <summary>Floats in one step's output: B*O (O = the network's output width).</summary>
    public int OutputLength => BatchSize * _model.OutputSize;
    /// <summary>Floats in GetState/SetState: each recurrent module's h (L*D, B, H), then c for LSTM.</summary>
    public int StateLength => _model.StateLength(BatchSize);

    /// <summary>One time step: x [B, I] -> y [B, O]. Networks without a bidirectional module only.</summary>
    public void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        RnnState state = Live();
        if (_model.IsBidirectional)
            throw new InvalidOperationException("Step is defined for unidirectional models only: a bidirectional layer needs the whole sequence. Use Run.");
        if (x.Length != InputLength) throw LengthError(nameof(x), x.Length, InputLength, $"batch {BatchSize} x input {_model.InputSize}");
        if (y.Length != OutputLength) throw LengthError(nameof(y), y.Length, OutputLength, $"batch {BatchSize} x {_model.OutputSize} outputs");
        InputValidation.ThrowIfNonFinite(x, nameof(x));
        if (x.Overlaps(y)) throw new ArgumentException("x and y must not overlap", nameof(y));
        state.Step(x, y);
    }

    /// <summary>
    /// A sequence: xs [T, B, I] -> ys [T, B, O], starting from the current state (PyTorch's h0) and
    /// leaving h_n (and c_n) in it.
    /// </summary>
    public void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys)
    {
        RnnState state = Live();
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (xs.Length != (long)steps * InputLength)
            throw LengthError(nameof(xs), xs.Length, (long)steps * InputLength, $"{steps} steps x batch {BatchSize} x input {_model.InputSize}");
        if (ys.Length != (long)steps * OutputLength)
            throw LengthError(nameof(ys), ys.Length, (long)steps * OutputLength, $"{steps} steps x batch {BatchSize} x {_model.OutputSize} outputs");
        if (steps == 0) return;
        InputValidation.ThrowIfNonFinite(xs, nameof(xs));
        if (xs.Overlaps(ys)) throw new ArgumentException("xs and ys must not overlap", nameof(ys));
        state.Run(xs, steps, ys);
    }

    /// <summary>Zeroes h (and c).</summary>
    public void Reset() => Live().Reset();

    public void GetState(Span<float> state)
    {
        RnnState s = Live();
        if (state.Length != StateLength) throw LengthError(nameof(state), state.Length, StateLength, StateShape());
        s.CopyTo(state);
    }

    public void SetState(ReadOnlySpan<float> state)
    {
        RnnState s = Live();
        if (state.Length != StateLength) throw LengthError(nameof(state), state.Length, StateLength, StateShape());
        InputValidation.ThrowIfNonFinite(state, nameof(state));
        s.CopyFrom(state);
    }

    // Messages are built only on failure: the hot path formats nothing.
    private static RnnShapeException LengthError(string param, int actual, long expected, string shape) =>
        new($"{param} has {actual} floats; expected {expected} ({shape})", param);

    private string StateShape() => string.Join(", then ", _model.Network.Recurrent.Select(r =>
        r.ProjSize > 0
            ? $"h {r.NumLayers * r.NumDirections} x batch {BatchSize} x proj {r.ProjSize}, then c {r.NumLayers * r.NumDirections} x batch {BatchSize} x hidden {r.HiddenSize}"
            : $"{(r.Spec.HasCellState ? "h and c, each " : "h ")}{r.NumLayers * r.NumDirections} x batch {BatchSize} x hidden {r.HiddenSize}"));

    private RnnState Live()
    {
        RnnState? s = _state;
        ObjectDisposedException.ThrowIf(s is null, this);
        ObjectDisposedException.ThrowIf(_model.IsDisposed, _model);
        return s;
    }

    /// <summary>Gives the state buffers back to the pool.</summary>
    public void Dispose()
    {
        RnnState? s = _state;
        _state = null;
        s?.Dispose();
    }
}
