using BenchmarkDotNet.Attributes;

namespace RnnRuntime.Bench.Suite;

/// <summary>Parameters and setup shared by the scenarios: cell, hidden (= input) and engine.</summary>
public abstract class ScenarioBase
{
    [ParamsSource(nameof(Cells))]
    public RnnCellKind Cell { get; set; }

    [ParamsSource(nameof(HiddenSizes))]
    public int Hidden { get; set; }

    [ParamsSource(nameof(EngineNames))]
    public string Engine { get; set; } = "";

    public static IEnumerable<string> EngineNames => Engines.All();

    /// <summary>rnn, gru, lstm; RNNRT_BENCH_CELLS (e.g. "gru,lstm") narrows them.</summary>
    public static IEnumerable<RnnCellKind> Cells =>
        FromEnvironment("RNNRT_BENCH_CELLS", "rnn,gru,lstm").Select(c => Enum.Parse<RnnCellKind>(c, ignoreCase: true));

    /// <summary>64, 256, 1024; RNNRT_BENCH_HIDDEN (e.g. "64,256") narrows them.</summary>
    public static IEnumerable<int> HiddenSizes => FromEnvironment("RNNRT_BENCH_HIDDEN", "64,256,1024").Select(int.Parse);

    private static string[] FromEnvironment(string variable, string all) =>
        (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } v ? v : all)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    protected IEngine? Prepared;

    protected void Prepare(ScenarioKind kind, int batch, int steps)
    {
        BenchModel m = BenchModel.Get(Cell, Hidden);
        Prepared = Engines.Create(Engine, m, kind, batch, steps);
        double dev = Verifier.Check(Prepared, m, kind, batch);
        Console.WriteLine($"// check: {Engine} {m} {kind} batch {batch}: max |dev| vs reference {dev:E2} over {Verifier.Steps} steps");
        // The timed call streams on: the state carries over from call to call.
        m.Inputs(kind == ScenarioKind.Step ? 1 : steps, batch).CopyTo(Prepared.Input);
        Allocations.Measure(Engine, Cell, Hidden, kind, batch, Prepared);
        // The floors' bandwidth at this footprint, measured now and again at report time (best kept).
        MachineProbe.ReadBandwidth(kind == ScenarioKind.Step ? m.WeightBytes : m.RecurrentBytes);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Prepared?.Dispose();
        Prepared = null;
    }
}

/// <summary>Streaming: one step of batch 1, the state carried from call to call.</summary>
[Config(typeof(SuiteConfig))]
public class StepBench : ScenarioBase
{
    [GlobalSetup]
    public void Setup() => Prepare(ScenarioKind.Step, 1, 1);

    [Benchmark]
    public void Step() => Prepared!.Invoke();
}

/// <summary>A sequence of T = 100 steps at batch 1 and 16, starting from the state the last call left.</summary>
[Config(typeof(SuiteConfig))]
public class RunBench : ScenarioBase
{
    public const int Steps = Verifier.Steps;

    [Params(1, 16)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup() => Prepare(ScenarioKind.Run, Batch, Steps);

    [Benchmark]
    public void Run() => Prepared!.Invoke();
}
