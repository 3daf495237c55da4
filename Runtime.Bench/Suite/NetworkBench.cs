using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// Parameters and setup of the network scenarios: the network (each of <see cref="BenchNetwork.Networks"/>
/// and its recurrent part) and the engine. Every engine is checked against the reference on the
/// scenario's own call path first, as the module scenarios are.
/// </summary>
public abstract class NetworkScenarioBase
{
    // Engine first: BenchmarkDotNet runs the cases in this order, so each network and its recurrent
    // part run back to back on the same engine (the 1.15x target compares them).
    [ParamsSource(nameof(EngineNames))]
    public string Engine { get; set; } = "";

    [ParamsSource(nameof(NetworkNames))]
    public string Network { get; set; } = "";

    public static IEnumerable<string> NetworkNames => BenchNetwork.All;

    public static IEnumerable<string> EngineNames => Engines.ForNetworks();

    protected IEngine? Prepared;

    protected void Prepare(ScenarioKind kind, int steps)
    {
        BenchNetwork n = BenchNetwork.Get(Network);
        Prepared = Engines.CreateNetwork(Engine, n, kind, 1, steps);
        double dev = Verifier.Check(Prepared, n, kind, 1);
        Console.WriteLine($"// check: {Engine} {n} {kind} batch 1: max |dev| vs reference {dev:E2} over {Verifier.Steps} steps");
        SeededInputs(n, kind, steps).CopyTo(Prepared.Input);
        Allocations.Measure(Engine, Network, kind, Prepared);
        // The floors' bandwidth: at this variant's footprint, and at the whole network's (where its
        // linear weights live, for the 1.15x target); measured again at report time, best kept.
        MachineProbe.ReadBandwidth(n.WeightBytes);
        MachineProbe.ReadBandwidth(BenchNetwork.Get(n.Network).WeightBytes);
    }

    private static float[] SeededInputs(BenchNetwork n, ScenarioKind kind, int steps) => n.Inputs(kind == ScenarioKind.Step ? 1 : steps, 1);

    [GlobalCleanup]
    public void Cleanup()
    {
        Prepared?.Dispose();
        Prepared = null;
    }

    /// <summary>Whether a benchmark type is one of the network scenarios (their report is separate).</summary>
    public static bool IsNetworkScenario(Type type) => typeof(NetworkScenarioBase).IsAssignableFrom(type);
}

/// <summary>A network streaming: one step of batch 1, every recurrent state carried from call to call.</summary>
[Config(typeof(NetworkConfig))]
public class NetworkStepBench : NetworkScenarioBase
{
    [GlobalSetup]
    public void Setup() => Prepare(ScenarioKind.Step, 1);

    [Benchmark]
    public void Step() => Prepared!.Invoke();
}

/// <summary>A network over a sequence: T = 100 steps at batch 1, starting from the state the last call left.</summary>
[Config(typeof(NetworkConfig))]
public class NetworkRunBench : NetworkScenarioBase
{
    public const int Steps = Verifier.Steps;

    [GlobalSetup]
    public void Setup() => Prepare(ScenarioKind.Run, Steps);

    [Benchmark]
    public void Run() => Prepared!.Invoke();
}

/// <summary>The suite's job and exporters; no roofline columns (the networks report has its own figures).</summary>
public sealed class NetworkConfig : ManualConfig
{
    public NetworkConfig()
    {
        SuiteConfig.AddCommon(this);
        AddFilter(new BenchmarkDotNet.Filters.SimpleFilter(c =>
            !(c.Parameters.Items.FirstOrDefault(p => p.Name == "Engine")?.Value is string e &&
              c.Parameters.Items.FirstOrDefault(p => p.Name == "Network")?.Value is string n &&
              Engines.NetworkSkip(e, n) is not null)));
    }
}
