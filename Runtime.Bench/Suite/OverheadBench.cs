using BenchmarkDotNet.Attributes;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// The fixed cost of one streaming call: a GRU with hidden = input = 8 (2.4 KiB of weights, ~0.4k
/// FLOPs), so what is measured is each engine's per-call machinery (argument checks, dispatch,
/// binding, tensor wrappers), the part that dominates at hidden 64.
/// </summary>
[Config(typeof(SuiteConfig))]
public class OverheadBench
{
    public const int Hidden = 8;

    [ParamsSource(nameof(EngineNames))]
    public string Engine { get; set; } = "";

    public static IEnumerable<string> EngineNames => Engines.All();

    private IEngine? _engine;

    [GlobalSetup]
    public void Setup()
    {
        BenchModel m = BenchModel.Get(RnnCellKind.Gru, Hidden);
        _engine = Engines.Create(Engine, m, ScenarioKind.Step, 1, 1);
        Verifier.Check(_engine, m, ScenarioKind.Step, 1);
        m.Inputs(1, 1).CopyTo(_engine.Input);
    }

    [GlobalCleanup]
    public void Cleanup() => _engine?.Dispose();

    [Benchmark]
    public void Step() => _engine!.Invoke();
}
