using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace RnnRuntime.Bench.Suite;

/// <summary>What one benchmark case is, read back from its parameters.</summary>
public readonly record struct CaseInfo(RnnCellKind Cell, int Hidden, string Engine, ScenarioKind Kind, int Batch, int Steps)
{
    public BenchModel Model => BenchModel.Get(Cell, Hidden);

    public static CaseInfo? Of(BenchmarkCase c)
    {
        object? Get(string name) => c.Parameters.Items.FirstOrDefault(p => p.Name == name)?.Value;
        if (Get("Cell") is not RnnCellKind cell || Get("Hidden") is not int hidden || Get("Engine") is not string engine) return null;
        ScenarioKind kind = c.Descriptor.WorkloadMethod.Name == "Step" ? ScenarioKind.Step : ScenarioKind.Run;
        int batch = Get("Batch") is int b ? b : 1;
        return new CaseInfo(cell, hidden, engine, kind, batch, kind == ScenarioKind.Step ? 1 : RunBench.Steps);
    }

    public double DesignFloorNs => Roofline.DesignFloorNs(Model, Kind, Batch, Steps);
    public double MeasuredFloorNs => Roofline.MeasuredFloorNs(Model, Kind, Batch, Steps);
    public double Flops => Roofline.Flops(Model, Kind, Batch, Steps);

    /// <summary>The same scenario on another engine.</summary>
    public bool SameScenario(CaseInfo o) => o.Cell == Cell && o.Hidden == Hidden && o.Kind == Kind && o.Batch == Batch;
}

/// <summary>
/// Roofline columns: the floor from DESIGN.md's machine figures, time / floor, the floor from this
/// machine's measured bandwidth and FMA peak, achieved GFLOP/s, and the speed-up over the reference.
/// </summary>
public sealed class SuiteColumn(SuiteColumn.Kind kind) : CustomColumn(
    "rnnrt." + kind,
    kind switch
    {
        Kind.DesignFloor => "Floor (DESIGN)",
        Kind.TimesFloor => "x Floor",
        Kind.Floor => "Floor",
        Kind.Gflops => "GFLOP/s",
        _ => "vs reference",
    },
    kind switch
    {
        Kind.DesignFloor => "The same floor from DESIGN.md's figures (75/52/45/21/14 GB/s by footprint, 38.9 GFLOP/s)",
        Kind.TimesFloor => "Median / Floor",
        Kind.Floor => "Roofline floor on this machine, one core, measured in-process: batch-1 step = weight bytes / read bandwidth of a buffer that size; Run = input projection FLOPs / FMA peak + T x max(W_hh bytes / bandwidth, B x recurrent FLOPs / peak)",
        Kind.Gflops => "FLOPs of both matrix products per call / Median",
        _ => "Median of the reference backend on the same scenario / Median",
    },
    kind is Kind.Floor or Kind.DesignFloor ? UnitType.Time : UnitType.Dimensionless,
    (int)kind)
{
    public enum Kind { Floor, TimesFloor, DesignFloor, Gflops, VsReference }

    public override string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (CaseInfo.Of(benchmarkCase) is not CaseInfo info) return "-";
        double? mean = Mean(summary, benchmarkCase);
        switch (kind)
        {
            case Kind.DesignFloor:
                return FormatNs(info.DesignFloorNs);
            case Kind.Floor:
                return FormatNs(info.MeasuredFloorNs);
            case Kind.TimesFloor:
                return mean is double m ? (m / info.MeasuredFloorNs).ToString("F2", CultureInfo.InvariantCulture) : "-";
            case Kind.Gflops:
                return mean is double g ? (info.Flops / g).ToString("F2", CultureInfo.InvariantCulture) : "-";
            default:
                BenchmarkCase? reference = summary.BenchmarksCases.FirstOrDefault(c =>
                    CaseInfo.Of(c) is CaseInfo o && o.Engine == Engines.Reference && o.SameScenario(info));
                if (reference is null || mean is not double mine || Mean(summary, reference) is not double r) return "-";
                return (r / mine).ToString("F1", CultureInfo.InvariantCulture) + "x";
        }
    }

    /// <summary>The median: robust to bursts of other load on a shared machine (the report uses it too).</summary>
    private static double? Mean(Summary summary, BenchmarkCase c) => summary[c]?.ResultStatistics?.Median;

    public static string FormatNs(double ns) => ns switch
    {
        < 0 => "-" + FormatNs(-ns),
        < 1e3 => (ns).ToString("F1", CultureInfo.InvariantCulture) + " ns",
        < 1e6 => (ns / 1e3).ToString("F2", CultureInfo.InvariantCulture) + " us",
        _ => (ns / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " ms",
    };

    public override string ToString() => ColumnName;
}
