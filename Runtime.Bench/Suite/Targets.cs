using System.Globalization;
using System.Text;
using BenchmarkDotNet.Reports;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// The issues' targets, judged from the same run: issue 3 (CPU backends vs floor, projection rate,
/// speed-up over the reference) and issue 6 (rnnrt vs ONNX Runtime and LibTorch). Each line lists
/// the figure per cell kind so a near miss is visible, not just the verdict.
/// </summary>
public static class Targets
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly RnnCellKind[] Cells = [RnnCellKind.Rnn, RnnCellKind.Gru, RnnCellKind.Lstm];

    public static string Markdown(IReadOnlyList<Measured> rows, string mine, IEnumerable<Summary> summaries)
    {
        var sb = new StringBuilder();
        sb.AppendLine("### Targets");
        sb.AppendLine();
        sb.AppendLine("| issue | target | figures (rnn / gru / lstm) | verdict |");
        sb.AppendLine("| --- | --- | --- | --- |");

        double? T(string engine, ScenarioKind kind, int batch, RnnCellKind cell, int hidden) =>
            rows.FirstOrDefault(r => r.Info.Engine == engine && r.Info.Kind == kind && r.Info.Batch == batch && r.Info.Cell == cell && r.Info.Hidden == hidden)?.MedianNs;

        // Issue 3: avx2 within 1.3x of the floor at 256 and 1024, 2x at 64; 20x the reference at 256.
        foreach (var (hidden, limit) in new[] { (64, 2.0), (256, 1.3), (1024, 1.3) })
        {
            Line(sb, "3", $"avx2 Step b1 at hidden {hidden} within {limit}x of the floor (this machine's; DESIGN floor in brackets)",
                Cells.Select(c =>
                {
                    double? t = T("avx2", ScenarioKind.Step, 1, c, hidden);
                    var info = new CaseInfo(c, hidden, "avx2", ScenarioKind.Step, 1, 1);
                    return (t / info.MeasuredFloorNs, t / info.DesignFloorNs);
                }).ToArray(), v => v <= limit, "x");
        }
        Line(sb, "3", "avx2 Step b1 at hidden 256 at least 20x faster than reference",
            Cells.Select(c => (T("reference", ScenarioKind.Step, 1, c, 256) / T("avx2", ScenarioKind.Step, 1, c, 256), (double?)null)).ToArray(), v => v >= 20, "x");
        foreach (string engine in new[] { "avx2", "avx512" })
        {
            double peak = engine == "avx2" ? MachineProbe.Peak256Gflops : MachineProbe.PeakGflops;
            var cases = summaries.SelectMany(s => s.BenchmarksCases.Select(c => (s, c)))
                .Where(x => x.c.Descriptor.Type == typeof(ProjectionBench) && (string)x.c.Parameters["Engine"] == engine && (string)x.c.Parameters["Input"] == "H")
                .Select(x => (Label: $"h{x.c.Parameters["Hidden"]} b{x.c.Parameters["Batch"]}", G: ProjectionColumn.Gflops(x.s, x.c))).ToList();
            if (cases.Count == 0) continue;
            string figures = string.Join(", ", cases.Select(x => $"{x.Label}: {(x.G is double g ? $"{100 * g / peak:F0}%" : "-")}"));
            bool met = cases.All(x => x.G is double g && g >= 0.7 * peak);
            sb.AppendLine($"| 3 | {engine} Run input projection >= 70% of one core's FMA peak ({peak:F0} GFLOP/s) at T*B >= 100 (GRU) | {figures} | {(met ? "met" : "not met")} |");
        }

        // Issue 6: against ONNX Runtime and LibTorch, one thread each.
        string ort = "ort-1t", torch = "torch-1t";
        if (rows.Any(r => r.Info.Engine == ort))
        {
            Line(sb, "6", $"Step b1 hidden 64: {mine} at least 5x faster than ONNX Runtime",
                Cells.Select(c => (T(ort, ScenarioKind.Step, 1, c, 64) / T(mine, ScenarioKind.Step, 1, c, 64), (double?)null)).ToArray(), v => v >= 5, "x");
            Line(sb, "6", $"Step b1 hidden 64: {mine} at least 20x faster than LibTorch",
                Cells.Select(c => (T(torch, ScenarioKind.Step, 1, c, 64) / T(mine, ScenarioKind.Step, 1, c, 64), (double?)null)).ToArray(), v => v >= 20, "x");
            Line(sb, "6", $"Step b1 hidden 256: {mine} at least 1.5x faster than ONNX Runtime",
                Cells.Select(c => (T(ort, ScenarioKind.Step, 1, c, 256) / T(mine, ScenarioKind.Step, 1, c, 256), (double?)null)).ToArray(), v => v >= 1.5, "x");
            foreach (string peer in new[] { ort, torch })
                Line(sb, "6", $"Step b1 hidden 1024: {mine} no slower than {peer}",
                    Cells.Select(c => (T(peer, ScenarioKind.Step, 1, c, 1024) / T(mine, ScenarioKind.Step, 1, c, 1024), (double?)null)).ToArray(), v => v >= 1, "x");
            foreach (int batch in new[] { 1, 16 })
            {
                foreach (var (hidden, limit) in new[] { (64, 1.5), (256, 1.5), (1024, 1.0) })
                    Line(sb, "6", $"Run T=100 b{batch} hidden {hidden}: {mine} {(limit > 1 ? $"at least {limit}x faster than" : "no slower than")} ONNX Runtime",
                        Cells.Select(c => (T(ort, ScenarioKind.Run, batch, c, hidden) / T(mine, ScenarioKind.Run, batch, c, hidden), (double?)null)).ToArray(), v => v >= limit, "x");
            }
        }

        // Issue 12: narrow weights against this build's float32 and against ONNX Runtime, one thread.
        string bf16 = Engines.WithFormat(mine, RnnWeightFormat.BFloat16), int8 = Engines.WithFormat(mine, RnnWeightFormat.Int8);
        if (rows.Any(r => r.Info.Engine == int8 || r.Info.Engine == bf16))
        {
            Line(sb, "12", $"Step b1 hidden 1024: {bf16} at most 0.6x of {mine}",
                Cells.Select(c => (T(bf16, ScenarioKind.Step, 1, c, 1024) / T(mine, ScenarioKind.Step, 1, c, 1024), (double?)null)).ToArray(), v => v <= 0.6, "x");
            Line(sb, "12", $"Step b1 hidden 1024: {int8} at most 0.35x of {mine}",
                Cells.Select(c => (T(int8, ScenarioKind.Step, 1, c, 1024) / T(mine, ScenarioKind.Step, 1, c, 1024), (double?)null)).ToArray(), v => v <= 0.35, "x");
            Line(sb, "12", $"Step b1 hidden 256: {int8} at most 0.6x of {mine}",
                Cells.Select(c => (T(int8, ScenarioKind.Step, 1, c, 256) / T(mine, ScenarioKind.Step, 1, c, 256), (double?)null)).ToArray(), v => v <= 0.6, "x");
            if (rows.Any(r => r.Info.Engine == ort))
                Line(sb, "12", $"Step b1 hidden 1024: {int8} at least 2.5x faster than ONNX Runtime (one thread)",
                    Cells.Select(c => (T(ort, ScenarioKind.Step, 1, c, 1024) / T(int8, ScenarioKind.Step, 1, c, 1024), (double?)null)).ToArray(), v => v >= 2.5, "x");
        }
        sb.AppendLine();
        return sb.ToString();
    }

    private static void Line(StringBuilder sb, string issue, string target, (double? Value, double? Aside)[] figures, Func<double, bool> ok, string unit)
    {
        string text = string.Join(" / ", figures.Select(f =>
            f.Value is double v ? v.ToString("F2", Inv) + unit + (f.Aside is double a ? $" ({a.ToString("F2", Inv)}{unit})" : "") : "-"));
        string verdict = figures.All(f => f.Value is null) ? "not measured"
            : figures.All(f => f.Value is double v && ok(v)) ? "met"
            : figures.Any(f => f.Value is double v && ok(v)) ? "partly met" : "not met";
        sb.AppendLine($"| {issue} | {target} | {text} | {verdict} |");
    }
}
