using System.Globalization;
using System.Net;
using System.Text;
using BenchmarkDotNet.Reports;
using RnnRuntime.Backends;
using RnnRuntime.Bench.Peers;

namespace RnnRuntime.Bench.Suite;

/// <summary>One measured per-sample case: Step (one call) or Sample (per sample of a block), BenchmarkDotNet's median.</summary>
public sealed record PerSampleMeasured(string Network, string Engine, string Measure, double? MedianNs);

/// <summary>
/// The per-sample report (results/{name}-per-sample.md and .svg): the seven audio-plugin networks, one sample
/// per call, rnnrt against ONNX Runtime and RTNeural, and a picture of the time per sample.
/// </summary>
public static class PerSampleReport
{
    public const string Sample = "Sample", Step = "Step";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static bool IsPerSample(Type type) => type == typeof(PerSampleBench);

    public static IReadOnlyList<PerSampleMeasured> Collect(IEnumerable<Summary> summaries) =>
        summaries.SelectMany(s => s.BenchmarksCases.Select(c => (s, c)))
            .Where(x => IsPerSample(x.c.Descriptor.Type))
            .Select(x => new PerSampleMeasured((string)x.c.Parameters["Network"], (string)x.c.Parameters["Engine"],
                x.c.Descriptor.WorkloadMethod.Name, x.s[x.c]?.ResultStatistics?.Median))
            .ToList();

    /// <summary>Writes results/{name}.md and results/{name}.svg; returns the markdown's path.</summary>
    public static string Write(IReadOnlyList<PerSampleMeasured> rows, string name, string machineLine)
    {
        string dir = Report.ResultsDirectory();
        Directory.CreateDirectory(dir);
        string md = Path.Combine(dir, name + ".md");
        File.WriteAllText(md, Markdown(rows, name, machineLine));
        File.WriteAllText(Path.Combine(dir, name + ".svg"), Svg(rows, "Per-sample networks: time per sample, one sample per call, batch 1 (log scale)"));
        return md;
    }

    /// <summary>rnnrt first (CPU backends in registry order), then ONNX Runtime, then RTNeural's engines.</summary>
    public static string[] EngineOrder(IReadOnlyList<PerSampleMeasured> rows)
    {
        var present = rows.Select(r => r.Engine).Distinct().ToList();
        return [.. BackendRegistry.Known.Where(present.Contains), .. present.Where(e => e.StartsWith("ort-", StringComparison.Ordinal)),
            .. present.Where(Engines.IsRtNeural).Order(StringComparer.Ordinal),
            .. present.Where(e => !BackendRegistry.Known.Contains(e) && !Engines.IsPeer(e))];
    }

    public static string Markdown(IReadOnlyList<PerSampleMeasured> rows, string name, string machineLine)
    {
        var sb = new StringBuilder();
        string[] engines = EngineOrder(rows);
        string auto = BackendRegistry.ResolveAuto();
        string[] rnnrt = engines.Where(e => !Engines.IsPeer(e)).ToArray();
        string mine = rnnrt.Contains(auto) ? auto : rnnrt.FirstOrDefault() ?? auto;
        string[] rtn = engines.Where(Engines.IsRtNeural).ToArray();
        bool ort = engines.Contains("ort-1t");
        double? T(string n, string e, string m) => rows.FirstOrDefault(r => r.Network == n && r.Engine == e && r.Measure == m)?.MedianNs;
        var networks = BenchNetwork.PerSample.Where(n => rows.Any(r => r.Network == n)).Select(BenchNetwork.Get).ToList();

        sb.AppendLine($"<!-- written by Runtime.Bench ({name}); do not edit by hand -->");
        sb.AppendLine($"Machine: {machineLine}  ");
        sb.AppendLine($"rnnrt in ratios = `{mine}` (auto resolves to `{auto}`), one thread, float32. Ratio = peer time / rnnrt time: above 1, rnnrt is faster.  ");
        if (rtn.Length > 0)
        {
            string? src = RtNeuralEngine.LibraryDirectory is string d && File.Exists(Path.Combine(d, "source.txt")) ? File.ReadAllText(Path.Combine(d, "source.txt")).Trim() : null;
            sb.AppendLine($"RTNeural: {src ?? "source unknown"}; " + string.Join("; ", rtn.Where(e => !e.EndsWith(RtNeuralEngine.JsonSuffix, StringComparison.Ordinal))
                .Select(e => $"`{e}` {Safe(() => RtNeuralEngine.Info(e[RtNeuralEngine.Prefix.Length..]))}")) +
                ". `rtneural-B` = the compile-time `RTNeural::ModelT` (B: its Eigen, xsimd or STL backend), `rtneural-B-json` = the run-time model of `json_parser::parseJson`, both loaded from the same weights.  ");
        }
        else
            sb.AppendLine("RTNeural: not built (./build.sh bench --peers with RTNEURAL_DIR, or RTNEURAL_GIT and XSIMD_GIT, set).  ");
        sb.AppendLine($"Sample: BenchmarkDotNet median of a block of {PerSampleBench.Block} different samples, one call each, divided by {PerSampleBench.Block} " +
                      "(rnnrt: RnnSession.Step per sample from C#; RTNeural: its forward per sample in a C++ loop; ONNX Runtime: one Run per sample, input copied in). " +
                      "Step: one call, the same input each time. Every engine agreed with the reference backend within 1e-4 (observed ~1e-7) before it was timed.");
        sb.AppendLine();
        sb.AppendLine("| network | layers | in -> out | weight bytes |");
        sb.AppendLine("| --- | --- | ---: | ---: |");
        foreach (BenchNetwork n in networks) sb.AppendLine($"| {n.Name} | {n.Shape} | {n.Input} -> {n.Output} | {n.WeightBytes} |");
        sb.AppendLine();

        foreach (var (measure, title) in new[] { (Sample, "Time per sample (blocks of one-sample calls)"), (Step, "Step b1: time per call") })
        {
            if (!rows.Any(r => r.Measure == measure)) continue;
            sb.AppendLine($"### {title}");
            sb.AppendLine();
            var header = new List<string> { "network" };
            header.AddRange(engines);
            if (ort) header.Add($"ort-1t / {mine}");
            if (rtn.Length > 0) header.Add($"fastest RTNeural / {mine}");
            Row(sb, header);
            Row(sb, header.Select((_, i) => i == 0 ? "---" : "---:"));
            foreach (BenchNetwork n in networks)
            {
                var cells = new List<string> { n.Name };
                cells.AddRange(engines.Select(e => T(n.Name, e, measure) is double v ? SuiteColumn.FormatNs(v) : "-"));
                if (ort) cells.Add(Ratio(T(n.Name, "ort-1t", measure), T(n.Name, mine, measure)));
                if (rtn.Length > 0)
                {
                    var best = rtn.Select(e => (e, t: T(n.Name, e, measure))).Where(x => x.t is not null).OrderBy(x => x.t).FirstOrDefault();
                    cells.Add(best.t is null ? "-" : $"{Ratio(best.t, T(n.Name, mine, measure))} ({best.e})");
                }
                Row(sb, cells);
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }

    private static string Safe(Func<string> f)
    {
        try { return f(); }
        catch (Exception e) { return $"({e.GetType().Name})"; }
    }

    private static void Row(StringBuilder sb, IEnumerable<string> cells) => sb.AppendLine("| " + string.Join(" | ", cells) + " |");

    private static string Ratio(double? a, double? b) =>
        a is double x && b is double y && y > 0 ? (x / y).ToString(x / y >= 10 ? "F0" : "F2", Inv) : "-";

    private static readonly string[] Palette = ["#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f"];

    private static string Color(string engine, int index) => engine switch
    {
        "sse" => "#aec7e8",
        "avx2" => "#1f77b4",
        "avx512" => "#2ca02c",
        "neon" => "#98df8a",
        "ort-1t" => "#d62728",
        "rtneural-eigen" => "#ff7f0e",
        "rtneural-xsimd" => "#8c564b",
        "rtneural-stl" => "#e377c2",
        "rtneural-eigen-json" => "#ffbb78",
        "rtneural-xsimd-json" => "#c49c94",
        "rtneural-stl-json" => "#f7b6d2",
        _ => Palette[index % Palette.Length],
    };

    /// <summary>Grouped bars, one group per network, one bar per engine: time per sample (Sample; Step where Sample was not run), log scale.</summary>
    public static string Svg(IReadOnlyList<PerSampleMeasured> rows, string title)
    {
        string measure = rows.Any(r => r.Measure == Sample) ? Sample : Step;
        var data = rows.Where(r => r.Measure == measure && r.MedianNs is > 0).ToList();
        string[] engines = EngineOrder(data);
        string[] networks = BenchNetwork.PerSample.Where(n => data.Any(r => r.Network == n)).ToArray();
        const int marginL = 70, top = 80, plotH = 300, barW = 9, gap = 22;
        int groupW = Math.Max(1, engines.Length) * barW;
        int width = Math.Max(700, marginL + networks.Length * (groupW + gap) + 30);
        int height = top + plotH + 70;
        var sb = new StringBuilder();
        sb.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.AppendLine($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
        sb.AppendLine($"<text x=\"{width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{WebUtility.HtmlEncode(title + (measure == Step ? " (Step b1)" : ""))}</text>");
        double lx = marginL, ly = 40;
        for (int e = 0; e < engines.Length; e++)
        {
            double w = 30 + 6.5 * engines[e].Length;
            if (lx + w > width - 10) { lx = marginL; ly += 16; }
            sb.AppendLine($"<rect x=\"{F(lx)}\" y=\"{F(ly - 8)}\" width=\"10\" height=\"10\" fill=\"{Color(engines[e], e)}\"/>");
            sb.AppendLine($"<text x=\"{F(lx + 14)}\" y=\"{F(ly + 1)}\">{WebUtility.HtmlEncode(engines[e])}</text>");
            lx += w;
        }
        if (data.Count == 0)
        {
            sb.AppendLine("</svg>");
            return sb.ToString();
        }
        double y0 = top + (ly - 40);
        double lo = Math.Floor(Math.Log10(data.Min(r => r.MedianNs!.Value))), hi = Math.Ceiling(Math.Log10(data.Max(r => r.MedianNs!.Value)));
        if (hi <= lo) hi = lo + 1;
        double Y(double ns) => y0 + plotH - plotH * (Math.Log10(ns) - lo) / (hi - lo);
        for (double d = lo; d <= hi; d++)
        {
            double y = Y(Math.Pow(10, d));
            sb.AppendLine($"<line x1=\"{marginL}\" y1=\"{F(y)}\" x2=\"{width - 10}\" y2=\"{F(y)}\" stroke=\"#e5e5e5\"/>");
            sb.AppendLine($"<text x=\"{marginL - 4}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{SuiteColumn.FormatNs(Math.Pow(10, d)).Replace(".00", "").Replace(".0", "")}</text>");
        }
        for (int k = 0; k < networks.Length; k++)
        {
            double gx = marginL + gap / 2.0 + k * (groupW + gap);
            for (int e = 0; e < engines.Length; e++)
            {
                if (data.FirstOrDefault(r => r.Network == networks[k] && r.Engine == engines[e])?.MedianNs is not double v) continue;
                double y = Y(v);
                sb.AppendLine($"<rect x=\"{F(gx + e * barW)}\" y=\"{F(y)}\" width=\"{barW - 1}\" height=\"{F(y0 + plotH - y)}\" fill=\"{Color(engines[e], e)}\">" +
                              $"<title>{WebUtility.HtmlEncode($"{networks[k]} {engines[e]}: {SuiteColumn.FormatNs(v)}")}</title></rect>");
            }
            sb.AppendLine($"<text x=\"{F(gx + groupW / 2.0)}\" y=\"{F(y0 + plotH + 16)}\" text-anchor=\"middle\">{networks[k]}</text>");
        }
        sb.AppendLine($"<line x1=\"{marginL}\" y1=\"{F(y0 + plotH)}\" x2=\"{width - 10}\" y2=\"{F(y0 + plotH)}\" stroke=\"#999\"/>");
        sb.AppendLine($"<text x=\"{width / 2}\" y=\"{F(y0 + plotH + 40)}\" text-anchor=\"middle\" fill=\"#555\">" +
                      $"{(measure == Sample ? $"time per sample, blocks of {PerSampleBench.Block} one-sample calls" : "Step b1, time per call")}; lower is faster</text>");
        sb.AppendLine("</svg>");
        return sb.ToString();
    }

    private static string F(double v) => v.ToString("F1", Inv);
}
