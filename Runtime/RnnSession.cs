namespace RnnRuntime;

/// <summary>
/// One stream (or batch of streams) through a model: owns the hidden state. Belongs to one thread at a
/// time: a call made while another thread's call on it is running is refused with
/// InvalidOperationException. Step and Run check every length and input value before touching the
/// state, so a rejected call leaves the state as it was; on the hot path they allocate nothing.
/// Disposing it while another thread's call is running is safe: the call finishes, then the state is
/// released. A session nobody disposes is released when the GC finds it.
/// </summary>
public sealed partial class RnnSession : IDisposable
{
    // The gate: Idle or InCall while open; Disposed, or DisposeRequested while a call still runs (that
    // call releases the state on its way out). One compare-exchange in, one out: no lock, no allocation.
    private const int Idle = 0, InCall = 1, Disposed = 2, DisposeRequested = 3;

    private readonly RnnModel _model;
    private readonly RnnState _state;
    private int _gate;

    internal RnnSession(RnnModel model, RnnState state)
    {
        _model = model;
        _state = state;
        BatchSize = state.BatchSize;
    }

    /// <summary>The model it runs.</summary>
    public RnnModel Model => _model;
    /// <summary>B: independent streams in this session.</summary>
    public int BatchSize { get; }
    /// <summary>Floats in one step's input: B*I.</summary>
    public int InputLength => BatchSize * _model.InputSize;
    /// <summary>Floats in one step's output: B*O (O = the network's output width).</summary>
    public int OutputLength => BatchSize * _model.OutputSize;
    /// <summary>Floats in GetState/SetState: each recurrent module's h (L*D, B, H), then c for LSTM.</summary>
    public int StateLength => _state.Length;

    /// <summary>The backend's state (tests look at a CPU state's workers).</summary>
    internal RnnState State => _state;

    /// <summary>One time step: x [B, I] -> y [B, O]. Networks without a bidirectional module only.</summary>
    public void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        RnnState state = Enter();
        try
        {
            if (_model.IsBidirectional)
                throw new InvalidOperationException("Step is defined for unidirectional models only: a bidirectional layer needs the whole sequence. Use Run.");
            if (x.Length != InputLength) throw LengthError(nameof(x), x.Length, InputLength, $"batch {BatchSize} x input {_model.InputSize}");
            if (y.Length != OutputLength) throw LengthError(nameof(y), y.Length, OutputLength, $"batch {BatchSize} x {_model.OutputSize} outputs");
            InputValidation.ThrowIfNonFinite(x, nameof(x));
            if (x.Overlaps(y)) throw new ArgumentException("x and y must not overlap", nameof(y));
            state.Step(x, y);
        }
        finally
        {
            Leave();
        }
    }

    /// <summary>
    /// A sequence: xs [T, B, I] -> ys [T, B, O], starting from the current state (PyTorch's h0) and
    /// leaving h_n (and c_n) in it.
    /// </summary>
    public void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys)
    {
        RnnState state = Enter();
        try
        {
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
        finally
        {
            Leave();
        }
    }

    /// <summary>Zeroes h (and c).</summary>
    public void Reset()
    {
        RnnState state = Enter();
        try
        {
            state.Reset();
        }
        finally
        {
            Leave();
        }
    }

    /// <summary>Copies out the state: each recurrent module's h (L*D, B, H or P), then c for an LSTM, in network order (<see cref="StateLength"/> floats).</summary>
    public void GetState(Span<float> state)
    {
        RnnState s = Enter();
        try
        {
            if (state.Length != StateLength) throw LengthError(nameof(state), state.Length, StateLength, StateShape());
            s.CopyTo(state);
        }
        finally
        {
            Leave();
        }
    }

    /// <summary>Replaces the state (layout as <see cref="GetState(Span{float})"/>); every value must be finite.</summary>
    public void SetState(ReadOnlySpan<float> state)
    {
        RnnState s = Enter();
        try
        {
            if (state.Length != StateLength) throw LengthError(nameof(state), state.Length, StateLength, StateShape());
            InputValidation.ThrowIfNonFinite(state, nameof(state));
            s.CopyFrom(state);
        }
        finally
        {
            Leave();
        }
    }

    // Messages are built only on failure: the hot path formats nothing.
    private static RnnShapeException LengthError(string param, int actual, long expected, string shape) =>
        new($"{param} has {actual} floats; expected {expected} ({shape})", param);

    private string StateShape() => string.Join(", then ", _model.Network.Recurrent.Select(r =>
        r.ProjSize > 0
            ? $"h {r.NumLayers * r.NumDirections} x batch {BatchSize} x proj {r.ProjSize}, then c {r.NumLayers * r.NumDirections} x batch {BatchSize} x hidden {r.HiddenSize}"
            : $"{(r.Spec.HasCellState ? "h and c, each " : "h ")}{r.NumLayers * r.NumDirections} x batch {BatchSize} x hidden {r.HiddenSize}"));

    /// <summary>Opens the gate for one call, or says why not; every Enter that returns is paired with Leave.</summary>
    private RnnState Enter()
    {
        int was = Interlocked.CompareExchange(ref _gate, InCall, Idle);
        if (was != Idle) ThrowClosed(was);
        if (_model.IsDisposed)
        {
            Leave();
            ObjectDisposedException.ThrowIf(true, _model);
        }
        return _state;
    }

    private void Leave()
    {
        // A Dispose that came during the call left DisposeRequested: this call releases the state.
        if (Interlocked.CompareExchange(ref _gate, Idle, InCall) == InCall) return;
        _gate = Disposed;
        _state.Dispose();
    }

    private void ThrowClosed(int gate)
    {
        ObjectDisposedException.ThrowIf(gate is Disposed or DisposeRequested, this);
        throw new InvalidOperationException("the session is in use by another thread right now; a session belongs to one thread at a time");
    }

    /// <summary>Gives the state buffers back to the pool (after the running call, if another thread is in one).</summary>
    public void Dispose()
    {
        while (true)
        {
            int gate = Volatile.Read(ref _gate);
            if (gate is Disposed or DisposeRequested) return;
            int next = gate == Idle ? Disposed : DisposeRequested;
            if (Interlocked.CompareExchange(ref _gate, next, gate) != gate) continue;
            if (next == Disposed) _state.Dispose();
            return;
        }
    }
}
