#if PEERS
using Microsoft.ML.OnnxRuntime;
using RnnRuntime.Bench.Suite;

namespace RnnRuntime.Bench.Peers;

/// <summary>
/// ONNX Runtime at its fastest documented C# pattern: the ONNX RNN/GRU/LSTM operator (for a network,
/// with MatMul, Add and activation nodes around it), OrtValues created once over pinned arrays, IO
/// binding, and for streaming every recurrent state swapped between two bindings (call k reads each
/// state from buffer k%2 and writes it into the other), so no call allocates or copies.
/// </summary>
public sealed class OrtEngine : IEngine
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly OrtIoBinding[] _bindings = new OrtIoBinding[2];
    private readonly List<IDisposable> _owned = [];
    private readonly float[] _x;
    private readonly float[]? _y;                 // module Run: Y [T, 1, B, H]; network: its output [T, B, O]
    private readonly float[][][] _states;         // per state (h, c of each recurrent layer): two buffers
    private int _current;                          // which buffer of each state holds the state now

    /// <summary>One module of the suite: Step's output is the new h (one layer); Run's is Y.</summary>
    public OrtEngine(BenchModel m, ScenarioKind kind, int batch, int steps, int threads)
        : this(threads, Module(m, kind, batch, steps))
    {
    }

    /// <summary>A whole network: X in, the network's output [T, B, O] out, each recurrent layer's state carried.</summary>
    public OrtEngine(BenchNetwork n, ScenarioKind kind, int batch, int steps, int threads)
        : this(threads, Network(n, kind == ScenarioKind.Step ? 1 : steps, batch))
    {
    }

    private sealed record Graph(byte[] Onnx, OnnxModelWriter.NetworkSignature Signature, bool OutputIsFirstState);

    private static Graph Module(BenchModel m, ScenarioKind kind, int batch, int steps)
    {
        int T = kind == ScenarioKind.Step ? 1 : steps;
        bool withY = kind == ScenarioKind.Run;
        long[] hShape = [1, batch, m.Hidden];
        var states = new List<OnnxModelWriter.StateIo> { new("initial_h", "Y_h", hShape) };
        if (m.Cell == RnnCellKind.Lstm) states.Add(new("initial_c", "Y_c", hShape));
        var signature = new OnnxModelWriter.NetworkSignature("X", withY ? "Y" : "", [T, batch, m.Input], [T, 1, batch, m.Hidden], states);
        return new Graph(OnnxModelWriter.Write(m, T, batch, withY), signature, OutputIsFirstState: !withY);
    }

    private static Graph Network(BenchNetwork n, int steps, int batch)
    {
        // The layers as rnnrt loaded them (the backend does not matter for the weights).
        using RnnModel model = n.Load(Engines.Reference);
        var (onnx, signature) = OnnxModelWriter.WriteNetwork(model, steps, batch);
        return new Graph(onnx, signature, OutputIsFirstState: false);
    }

    private OrtEngine(int threads, Graph g)
    {
        Name = $"ort-{threads}t";
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(g.Onnx, options);

        var sig = g.Signature;
        _x = GC.AllocateArray<float>(Count(sig.InputShape), pinned: true);
        OrtValue x = Own(OrtValue.CreateTensorValueFromMemory(_x, sig.InputShape));
        OrtValue? y = null;
        if (!g.OutputIsFirstState)
        {
            _y = GC.AllocateArray<float>(Count(sig.OutputShape), pinned: true);
            y = Own(OrtValue.CreateTensorValueFromMemory(_y, sig.OutputShape));
        }
        _states = new float[sig.States.Count][][];
        var values = new OrtValue[sig.States.Count][];
        for (int s = 0; s < sig.States.Count; s++)
        {
            _states[s] = new float[2][];
            values[s] = new OrtValue[2];
            for (int i = 0; i < 2; i++)
            {
                _states[s][i] = GC.AllocateArray<float>(Count(sig.States[s].Shape), pinned: true);
                values[s][i] = Own(OrtValue.CreateTensorValueFromMemory(_states[s][i], sig.States[s].Shape));
            }
        }
        for (int i = 0; i < 2; i++)
        {
            OrtIoBinding b = _session.CreateIoBinding();
            _owned.Add(b);
            b.BindInput(sig.Input, x);
            for (int s = 0; s < sig.States.Count; s++)
            {
                b.BindInput(sig.States[s].Input, values[s][i]);
                b.BindOutput(sig.States[s].Output, values[s][1 - i]);
            }
            if (y is not null) b.BindOutput(sig.Output, y);
            _bindings[i] = b;
        }
    }

    private static int Count(long[] shape) => checked((int)shape.Aggregate(1L, (a, d) => a * d));

    private OrtValue Own(OrtValue v)
    {
        _owned.Add(v);
        return v;
    }

    public string Name { get; }
    public Span<float> Input => _x;

    /// <summary>Module Step: y is the new h (one layer). Module Run: Y. Network: its output.</summary>
    public ReadOnlySpan<float> Output => _y ?? _states[0][_current];

    public void Invoke()
    {
        _session.RunWithBinding(_runOptions, _bindings[_current]);
        _current ^= 1;
    }

    public void ResetState()
    {
        foreach (float[][] pair in _states)
            foreach (float[] a in pair) Array.Clear(a);
        _current = 0;
    }

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }
}
#endif
