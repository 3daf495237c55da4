using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// The suite's job, sized so the default run takes about 10 minutes on 2 cores and the peer run
/// about 20: in-process (no child build or process per case; the reference outputs used by the
/// correctness checks are computed once and shared), 100 ms iterations, 4 warm-ups, 15 measured
/// iterations, no overhead evaluation (a call costs at least 0.2 us; the empty-call overhead is ~1 ns).
/// </summary>
public sealed class SuiteConfig : ManualConfig
{
    public static Job SuiteJob { get; } = Job.Default
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithIterationTime(TimeInterval.FromMilliseconds(100))
        .WithWarmupCount(4)
        .WithIterationCount(15)
        .WithEvaluateOverhead(false)
        .WithId("suite");

    /// <summary>What every config of the suite shares: the job, memory, exporters, logger.</summary>
    public static void AddCommon(ManualConfig config)
    {
        config.AddJob(SuiteJob);
        config.AddDiagnoser(MemoryDiagnoser.Default);
        config.AddColumnProvider(DefaultColumnProviders.Instance);
        config.AddLogger(ConsoleLogger.Default);
        config.WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared));
        config.WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(20));
        config.WithOptions(ConfigOptions.DisableLogFile);
    }

    public SuiteConfig()
    {
        AddCommon(this);
        AddColumn(new SuiteColumn(SuiteColumn.Kind.Floor), new SuiteColumn(SuiteColumn.Kind.TimesFloor),
                  new SuiteColumn(SuiteColumn.Kind.DesignFloor), new SuiteColumn(SuiteColumn.Kind.Gflops),
                  new SuiteColumn(SuiteColumn.Kind.VsReference));
        AddFilter(new SimpleFilter(c =>
            !(c.Parameters.Items.FirstOrDefault(p => p.Name == "Engine")?.Value is string e &&
              c.Parameters.Items.FirstOrDefault(p => p.Name == "Hidden")?.Value is int h &&
              Engines.Skip(e, h))));
    }
}
