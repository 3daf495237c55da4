using System.Runtime.CompilerServices;

namespace RnnRuntime;

/// <summary>
/// One stream (or batch of streams) through a model: owns the hidden state. Belongs to one thread at a
/// time: a call made while another thread's call on it is running is refused with
/// InvalidOperationException. Step and Run check every length and input value before touching the
/// state, so a rejected call leaves the state as it was; on the hot path they allocate nothing.
/// Disposing it while another thread's call is running is safe: the call finishes, then the state is
/// released. A session keeps its model's prepared weights alive: it goes on working after
/// <see cref="RnnModel.Dispose"/>, which only refuses new sessions. A session nobody disposes is
/// released when the GC finds it.
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
        var call = new StepCall(x, y);
        Call(ref call);
    }

    /// <summary>
    /// A sequence: xs [T, B, I] -> ys [T, B, O], starting from the current state (PyTorch's h0) and
    /// leaving h_n (and c_n) in it.
    /// </summary>
    public void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys)
    {
        var call = new RunCall(xs, steps, ys);
        Call(ref call);
    }

    /// <summary>Zeroes h (and c).</summary>
    public void Reset()
    {
        var call = new ResetCall();
        Call(ref call);
    }

    /// <summary>Copies out the state: each recurrent module's h (L*D, B, H or P), then c for an LSTM, in network order (<see cref="StateLength"/> floats).</summary>
    public void GetState(Span<float> state)
    {
        var call = new GetStateCall(state);
        Call(ref call);
    }

    /// <summary>Replaces the state (layout as <see cref="GetState(Span{float})"/>); every value must be finite.</summary>
    public void SetState(ReadOnlySpan<float> state)
    {
        var call = new SetStateCall(state);
        Call(ref call);
    }

    /// <summary>What one public call does once the gate is open: check its arguments, then run on the state.</summary>
    private interface ISessionCall
    {
        void Invoke(RnnSession session, RnnState state);
    }

    /// <summary>
    /// The gate around every call, written once. Generic over a ref struct that carries the call's
    /// spans, so each call gets its own specialised copy: no delegate, no closure, nothing allocated.
    /// The JIT inlines it (try/finally included) with Enter and Leave into the public method, so Step
    /// still costs one compare-exchange in, one out, and one call frame (Invoke, where Step's body was).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Call<TCall>(ref TCall call) where TCall : ISessionCall, allows ref struct
    {
        RnnState state = Enter();
        try
        {
            call.Invoke(this, state);
        }
        finally
        {
            Leave();
        }
    }

    private readonly ref struct StepCall(ReadOnlySpan<float> x, Span<float> y) : ISessionCall
    {
        private readonly ReadOnlySpan<float> _x = x;
        private readonly Span<float> _y = y;

        public void Invoke(RnnSession s, RnnState state)
        {
            RnnModel model = s._model;
            if (model.IsBidirectional)
                throw new InvalidOperationException("Step is defined for unidirectional models only: a bidirectional layer needs the whole sequence. Use Run.");
            if (_x.Length != s.InputLength) throw LengthError("x", _x.Length, s.InputLength, $"batch {s.BatchSize} x input {model.InputSize}");
            if (_y.Length != s.OutputLength) throw LengthError("y", _y.Length, s.OutputLength, $"batch {s.BatchSize} x {model.OutputSize} outputs");
            InputValidation.ThrowIfNonFinite(_x, "x");
            if (_x.Overlaps(_y)) throw new ArgumentException("x and y must not overlap", "y");
            state.Step(_x, _y);
        }
    }

    private readonly ref struct RunCall(ReadOnlySpan<float> xs, int steps, Span<float> ys) : ISessionCall
    {
        private readonly ReadOnlySpan<float> _xs = xs;
        private readonly Span<float> _ys = ys;

        public void Invoke(RnnSession s, RnnState state)
        {
            RnnModel model = s._model;
            ArgumentOutOfRangeException.ThrowIfNegative(steps);
            if (_xs.Length != (long)steps * s.InputLength)
                throw LengthError("xs", _xs.Length, (long)steps * s.InputLength, $"{steps} steps x batch {s.BatchSize} x input {model.InputSize}");
            if (_ys.Length != (long)steps * s.OutputLength)
                throw LengthError("ys", _ys.Length, (long)steps * s.OutputLength, $"{steps} steps x batch {s.BatchSize} x {model.OutputSize} outputs");
            if (steps == 0) return;
            InputValidation.ThrowIfNonFinite(_xs, "xs");
            if (_xs.Overlaps(_ys)) throw new ArgumentException("xs and ys must not overlap", "ys");
            state.Run(_xs, steps, _ys);
        }
    }

    private readonly ref struct ResetCall : ISessionCall
    {
        public void Invoke(RnnSession s, RnnState state) => state.Reset();
    }

    private readonly ref struct GetStateCall(Span<float> values) : ISessionCall
    {
        private readonly Span<float> _values = values;

        public void Invoke(RnnSession s, RnnState state)
        {
            if (_values.Length != s.StateLength) throw LengthError("state", _values.Length, s.StateLength, s.StateShape());
            state.CopyTo(_values);
        }
    }

    private readonly ref struct SetStateCall(ReadOnlySpan<float> values) : ISessionCall
    {
        private readonly ReadOnlySpan<float> _values = values;

        public void Invoke(RnnSession s, RnnState state)
        {
            if (_values.Length != s.StateLength) throw LengthError("state", _values.Length, s.StateLength, s.StateShape());
            InputValidation.ThrowIfNonFinite(_values, "state");
            state.CopyFrom(_values);
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
        // The model is not checked: the state holds a lease on its prepared weights, so a session
        // keeps working after its model is disposed (the rule of ARCHITECTURE.md's "Lifetimes").
        int was = Interlocked.CompareExchange(ref _gate, InCall, Idle);
        if (was != Idle) ThrowClosed(was);
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
