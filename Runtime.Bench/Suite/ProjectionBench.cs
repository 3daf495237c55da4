using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// Isolates the hoisted input projection of Run through the public API only: the same GRU Run
/// (T = 100) with input = hidden and with input = 8. Everything but the projection (recurrent
/// products, gates, state, checks) is identical, so the time difference is the projection of
/// (H - 8) extra input columns, and 2*T*B*3H*(H - 8) / difference is its achieved GFLOP/s.
/// </summary>
[Config(typeof(ProjectionConfig))]
public class ProjectionBench
{
    public const int NarrowInput = 8;

    [ParamsSource(nameof(EngineNames))]
    public string Engine { get; set; } = "";

    [Params(256, 1024)]
    public int Hidden { get; set; }

    [Params(1, 16)]
    public int Batch { get; set; }

    /// <summary>"8" or "H" (= hidden).</summary>
    [Params("H", "8")]
    public string Input { get; set; } = "H";

    public static IEnumerable<string> EngineNames => Engines.All().Where(e => e != Engines.Reference && !e.EndsWith("-2t", StringComparison.Ordinal));

    private IEngine? _engine;

    public int InputSize => Input == "H" ? Hidden : NarrowInput;

    [GlobalSetup]
    public void Setup()
    {
        BenchModel m = BenchModel.Get(RnnCellKind.Gru, Hidden, InputSize);
        _engine = Engines.Create(Engine, m, ScenarioKind.Run, Batch, RunBench.Steps);
        if (Hidden <= 256)
        {
            double dev = Verifier.Check(_engine, m, ScenarioKind.Run, Batch);
            Console.WriteLine($"// check: {Engine} {m} Run batch {Batch}: max |dev| vs reference {dev:E2}");
        }
        m.Inputs(RunBench.Steps, Batch).CopyTo(_engine.Input);
    }

    [GlobalCleanup]
    public void Cleanup() => _engine?.Dispose();

    [Benchmark]
    public void Run() => _engine!.Invoke();
}

public sealed class ProjectionConfig : ManualConfig
{
    public ProjectionConfig()
    {
        SuiteConfig.AddCommon(this);
        AddColumn(new ProjectionColumn());
    }
}

/// <summary>Achieved GFLOP/s of the input projection, from the wide/narrow pair (on the wide row).</summary>
public sealed class ProjectionColumn() : CustomColumn("rnnrt.Projection", "Projection GFLOP/s",
    "2*T*B*3H*(H-8) / (Min(input H) - Min(input 8)): the hoisted input projection's achieved rate")
{
    public override string GetValue(Summary summary, BenchmarkCase c, SummaryStyle style) =>
        Gflops(summary, c) is double g ? g.ToString("F1", CultureInfo.InvariantCulture) : "-";

    public static double? Gflops(Summary summary, BenchmarkCase c)
    {
        if ((string)c.Parameters["Input"] != "H") return null;
        BenchmarkCase? narrow = summary.BenchmarksCases.FirstOrDefault(o =>
            (string)o.Parameters["Input"] == "8" && Equals(o.Parameters["Engine"], c.Parameters["Engine"]) &&
            Equals(o.Parameters["Hidden"], c.Parameters["Hidden"]) && Equals(o.Parameters["Batch"], c.Parameters["Batch"]));
        if (narrow is null || summary[c]?.ResultStatistics?.Min is not double wide || summary[narrow]?.ResultStatistics?.Min is not double small) return null;
        int h = (int)c.Parameters["Hidden"], b = (int)c.Parameters["Batch"];
        double flops = 2.0 * RunBench.Steps * b * 3 * h * (h - ProjectionBench.NarrowInput);
        return wide > small ? flops / (wide - small) : null;
    }

    public override string ToString() => ColumnName;
}
