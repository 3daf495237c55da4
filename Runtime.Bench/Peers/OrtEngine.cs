#if PEERS
using Microsoft.ML.OnnxRuntime;
using RnnRuntime.Bench.Suite;

namespace RnnRuntime.Bench.Peers;

/// <summary>
/// ONNX Runtime at its fastest documented C# pattern: the ONNX RNN/GRU/LSTM operator, OrtValues
/// created once over pinned arrays, IO binding, and for streaming the state swapped between two
/// bindings (call k reads h from buffer k%2 and writes h into the other), so no call allocates or copies.
/// </summary>
public sealed class OrtEngine : IEngine
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly OrtIoBinding[] _bindings = new OrtIoBinding[2];
    private readonly List<IDisposable> _owned = [];
    private readonly float[] _x;
    private readonly float[]? _y;                 // Run: Y [T, 1, B, H]
    private readonly float[][] _h = new float[2][];
    private readonly float[][] _c = new float[2][];
    private int _current;                          // which h buffer holds the state now

    public OrtEngine(BenchModel m, ScenarioKind kind, int batch, int steps, int threads)
    {
        Name = $"ort-{threads}t";
        int T = kind == ScenarioKind.Step ? 1 : steps;
        bool withY = kind == ScenarioKind.Run, lstm = m.Cell == RnnCellKind.Lstm;
        byte[] onnx = OnnxModelWriter.Write(m, T, batch, withY);

        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(onnx, options);

        long[] xShape = [T, batch, m.Input], hShape = [1, batch, m.Hidden];
        _x = GC.AllocateArray<float>(T * batch * m.Input, pinned: true);
        OrtValue x = Own(OrtValue.CreateTensorValueFromMemory(_x, xShape));
        OrtValue? y = null;
        if (withY)
        {
            _y = GC.AllocateArray<float>(T * batch * m.Hidden, pinned: true);
            y = Own(OrtValue.CreateTensorValueFromMemory(_y, [T, 1, batch, m.Hidden]));
        }
        var h = new OrtValue[2];
        var c = new OrtValue[2];
        for (int i = 0; i < 2; i++)
        {
            _h[i] = GC.AllocateArray<float>(batch * m.Hidden, pinned: true);
            h[i] = Own(OrtValue.CreateTensorValueFromMemory(_h[i], hShape));
            _c[i] = GC.AllocateArray<float>(lstm ? batch * m.Hidden : 0, pinned: true);
            if (lstm) c[i] = Own(OrtValue.CreateTensorValueFromMemory(_c[i], hShape));
        }
        for (int i = 0; i < 2; i++)
        {
            OrtIoBinding b = _session.CreateIoBinding();
            _owned.Add(b);
            b.BindInput("X", x);
            b.BindInput("initial_h", h[i]);
            b.BindOutput("Y_h", h[1 - i]);
            if (lstm)
            {
                b.BindInput("initial_c", c[i]);
                b.BindOutput("Y_c", c[1 - i]);
            }
            if (y is not null) b.BindOutput("Y", y);
            _bindings[i] = b;
        }
    }

    private OrtValue Own(OrtValue v)
    {
        _owned.Add(v);
        return v;
    }

    public string Name { get; }
    public Span<float> Input => _x;

    /// <summary>Step: y is the new h (one layer). Run: Y.</summary>
    public ReadOnlySpan<float> Output => _y ?? _h[_current];

    public void Invoke()
    {
        _session.RunWithBinding(_runOptions, _bindings[_current]);
        _current ^= 1;
    }

    public void ResetState()
    {
        foreach (float[] a in _h) Array.Clear(a);
        foreach (float[] a in _c) Array.Clear(a);
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
