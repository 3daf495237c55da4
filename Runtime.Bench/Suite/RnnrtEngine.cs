namespace RnnRuntime.Bench.Suite;

/// <summary>rnnrt through its public API, on one backend chosen by name.</summary>
public sealed class RnnrtEngine : IEngine, IStreamEngine
{
    private readonly RnnModel _model;
    private readonly RnnSession _session;
    private readonly float[] _input;
    private readonly float[] _output;
    private readonly int _steps;
    private readonly ScenarioKind _kind;

    /// <summary>A module of the suite or a network: the file loaded with its layer list (if any) through the public API.</summary>
    public RnnrtEngine(string engine, IBenchSubject m, ScenarioKind kind, int batch, int steps)
    {
        (string backend, int threads, RnnWeightFormat format) = Engines.Parse(engine);
        _model = RnnModel.Load(m.Safetensors, new RnnOptions { Backend = backend, Layers = m.Layers, Threads = threads, WeightFormat = format });
        if (_model.Backend != backend)
            throw new InvalidOperationException($"asked for backend '{backend}', got '{_model.Backend}'");
        _session = _model.CreateSession(batch);
        _kind = kind;
        _steps = kind == ScenarioKind.Step ? 1 : steps;
        _input = GC.AllocateArray<float>(_steps * batch * m.Input, pinned: true);
        if (_model.InputSize != m.Input || _model.OutputSize != m.Output)
            throw new InvalidOperationException($"{m} loaded as {_model.InputSize} -> {_model.OutputSize}, expected {m.Input} -> {m.Output}");
        _output = GC.AllocateArray<float>(_steps * batch * m.Output, pinned: true);
        Name = engine;
    }

    public string Name { get; }
    public Span<float> Input => _input;
    public ReadOnlySpan<float> Output => _output;

    public void Invoke()
    {
        if (_kind == ScenarioKind.Step) _session.Step(_input, _output);
        else _session.Run(_input, _steps, _output);
    }

    /// <summary>Step per sample over a block (batch 1): the C# loop a streaming caller writes.</summary>
    public void Process(ReadOnlySpan<float> xs, Span<float> ys, int samples)
    {
        int i = _model.InputSize, o = _model.OutputSize;
        for (int t = 0; t < samples; t++)
            _session.Step(xs.Slice(t * i, i), ys.Slice(t * o, o));
    }

    public void ResetState() => _session.Reset();

    public void Dispose()
    {
        _session.Dispose();
        _model.Dispose();
    }
}
