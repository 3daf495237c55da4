using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using BenchmarkDotNet.Reports;
using RnnRuntime.Backends;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// One measured case, as the report needs it: the median time (robust to the other agents' bursts on
/// a shared machine), BenchmarkDotNet's allocation figure and the exact one for the calling thread.
/// </summary>
public sealed record Measured(CaseInfo Info, double? MedianNs, double? ErrorNs, long? AllocatedBytes, double? ThreadBytes);

/// <summary>
/// Turns the suite's summaries into the tables of BENCHMARKS.md (per scenario: the time of each
/// engine, the floor, peer/rnnrt ratios) and the latency-vs-hidden picture, written under
/// Runtime.Bench/results/ so every figure there was printed by this code.
/// </summary>
public static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static IReadOnlyList<Measured> Collect(IEnumerable<Summary> summaries) =>
        summaries.SelectMany(s => s.BenchmarksCases.Select(c => (s, c)))
            .Select(x => (x.s, x.c, info: CaseInfo.Of(x.c)))
            .Where(x => x.info is not null)
            .Select(x =>
            {
                BenchmarkReport? r = x.s[x.c];
                return new Measured(x.info!.Value, r?.ResultStatistics?.Median, r?.ResultStatistics?.StandardError,
                    r?.GcStats.GetBytesAllocatedPerOperation(x.c), Allocations.PerCall(x.info!.Value));
            })
            .ToList();

    /// <summary>Writes results/{name}.md and results/{name}.svg (latency.svg for the peer run); returns the markdown path.</summary>
    public static string Write(IReadOnlyList<Measured> rows, string name, string machineLine, IEnumerable<Summary> summaries, string extra = "")
    {
        string dir = ResultsDirectory();
        Directory.CreateDirectory(dir);
        string md = Path.Combine(dir, name + ".md");
        File.WriteAllText(md, Markdown(rows, name, machineLine, summaries) + extra);
        // A plain peer run keeps the picture's old name, latency.svg, which BENCHMARKS.md's history links to.
        string svg = name == "peers" ? "latency.svg" : name + ".svg";
        File.WriteAllText(Path.Combine(dir, svg), LatencySvg.Render(rows, $"rnnrt {name}: latency per call vs hidden size (log scale)"));
        return md;
    }

    /// <summary>Runtime.Bench/results under the repository root (found from the working directory or the binary).</summary>
    public static string ResultsDirectory()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Runtime.sln")))
                    return Path.Combine(d.FullName, "Runtime.Bench", "results");
        }
        return Path.Combine(Directory.GetCurrentDirectory(), "results");
    }

    public static string MachineLine()
    {
        string model = "unknown CPU";
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) model = line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        return $"{model}, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, " +
               $"AVX2 {System.Runtime.Intrinsics.X86.Avx2.IsSupported}, AVX-512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, " +
               $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC";
    }

    public static string Markdown(IReadOnlyList<Measured> rows, string name, string machineLine, IEnumerable<Summary>? summaries = null)
    {
        var sb = new StringBuilder();
        string auto = BackendRegistry.ResolveAuto();
        string[] engines = EngineOrder(rows);
        string[] rnnrt = engines.Where(e => !Engines.IsPeer(e) && Engines.Parse(e) is { Threads: 1, Format: RnnWeightFormat.Float32 }).ToArray();
        string[] peers1 = engines.Where(e => e.EndsWith("-1t", StringComparison.Ordinal)).ToArray();
        string[] peers2 = engines.Where(e => Engines.IsPeer(e) && e.EndsWith("-2t", StringComparison.Ordinal)).ToArray();
        // rnnrt's figure in ratios: what "auto" picks here, else the fastest backend measured.
        string mine = rnnrt.Contains(auto) ? auto : rnnrt.FirstOrDefault(e => e != Engines.Reference) ?? rnnrt.FirstOrDefault() ?? auto;

        sb.AppendLine($"<!-- written by Runtime.Bench ({name}); do not edit by hand -->");
        sb.AppendLine($"Machine: {machineLine}  ");
        sb.AppendLine($"Machine probe (one core, in-process): FMA peak {MachineProbe.PeakGflops:F1} GFLOP/s (256-bit: {MachineProbe.Peak256Gflops:F1}); " +
                      "read bandwidth " + string.Join(", ", new long[] { 256 << 10, 768 << 10, 3 << 20, 6 << 20, 64 << 20 }
                          .Select(b => $"{Size(b)} {MachineProbe.ReadBandwidth(b):F0} GB/s")) + "  ");
        sb.AppendLine($"Times are BenchmarkDotNet medians. rnnrt in ratios = `{mine}` (auto resolves to `{auto}`). Ratio = peer time / rnnrt time: above 1, rnnrt is faster.  ");
        sb.AppendLine("Floor: this machine, one core, from the probe above (batch-1 step: weight bytes / read bandwidth of a buffer of that size; " +
                      "Run: input projection FLOPs / FMA peak + T x max(W_hh bytes / bandwidth, B x recurrent FLOPs / peak)). " +
                      "Floor (DESIGN): the same formula with DESIGN.md's figures (75/52/45/21/14 GB/s by footprint, 38.9 GFLOP/s).");
        sb.AppendLine();

        // rnnrt with Threads = 2 on the same backend, for the two-thread tables.
        string mine2 = engines.Contains(mine + Engines.TwoThreads) ? mine + Engines.TwoThreads : mine;
        if (rows.Count > 0) sb.Append(Targets.Markdown(rows, mine, summaries ?? []));

        var scenarios = new (ScenarioKind Kind, int Batch, string Title)[]
        {
            (ScenarioKind.Step, 1, "Step, batch 1 (streaming), time per step"),
            (ScenarioKind.Run, 1, "Run, T = 100, batch 1, time per call (100 steps)"),
            (ScenarioKind.Run, 16, "Run, T = 100, batch 16, time per call (100 steps x 16 sequences)"),
        };
        foreach (var (kind, batch, title) in scenarios)
        {
            var inScenario = rows.Where(r => r.Info.Kind == kind && r.Info.Batch == batch).ToList();
            if (inScenario.Count == 0) continue;
            sb.AppendLine($"### {title}");
            sb.AppendLine();
            string[] cols = [.. rnnrt, .. peers1];
            var header = new List<string> { "cell", "hidden", "floor", "floor (DESIGN)" };
            header.AddRange(cols);
            header.AddRange(peers1.Select(p => $"{p} / {mine}"));
            header.Add($"{mine} / floor");
            if (rnnrt.Contains(Engines.Reference)) header.Add($"reference / {mine}");
            if (kind == ScenarioKind.Run) header.Add($"{mine} GFLOP/s");
            Row(sb, header);
            Row(sb, header.Select((_, i) => i < 2 ? "---" : "---:"));
            foreach (var g in inScenario.GroupBy(r => (r.Info.Cell, r.Info.Hidden)).OrderBy(g => g.Key.Cell).ThenBy(g => g.Key.Hidden))
            {
                CaseInfo info = g.First().Info;
                double? T(string e) => g.FirstOrDefault(r => r.Info.Engine == e)?.MedianNs;
                var cells = new List<string> { info.Cell.Name(), info.Hidden.ToString(Inv), Time(info.MeasuredFloorNs), Time(info.DesignFloorNs) };
                cells.AddRange(cols.Select(e => Time(T(e), g.Any(r => r.Info.Engine == e))));
                cells.AddRange(peers1.Select(p => Ratio(T(p), T(mine))));
                cells.Add(Ratio(T(mine), info.MeasuredFloorNs));
                if (rnnrt.Contains(Engines.Reference)) cells.Add(Ratio(T(Engines.Reference), T(mine)));
                if (kind == ScenarioKind.Run) cells.Add(T(mine) is double t ? (info.Flops / t).ToString("F1", Inv) : "-");
                Row(sb, cells);
            }
            sb.AppendLine();
            if (peers2.Length > 0 || mine2 != mine)
            {
                sb.AppendLine(mine2 == mine
                    ? $"Two intra-op threads for the peers (rnnrt `{mine}` is one thread):"
                    : $"Two threads: the peers with two intra-op threads, rnnrt `{mine2}` with RnnOptions.Threads = 2 (`{mine2} / {mine}`: its time over one thread's; below 1, two threads are faster):");
                sb.AppendLine();
                var h2 = new List<string> { "cell", "hidden", mine };
                if (mine2 != mine) h2.Add(mine2);
                h2.AddRange(peers2);
                h2.AddRange(peers2.Select(p => $"{p} / {mine2}"));
                if (mine2 != mine) h2.Add($"{mine2} / {mine}");
                Row(sb, h2);
                Row(sb, h2.Select((_, i) => i < 2 ? "---" : "---:"));
                foreach (var g in inScenario.GroupBy(r => (r.Info.Cell, r.Info.Hidden)).OrderBy(g => g.Key.Cell).ThenBy(g => g.Key.Hidden))
                {
                    double? T(string e) => g.FirstOrDefault(r => r.Info.Engine == e)?.MedianNs;
                    var cells = new List<string> { g.Key.Cell.Name(), g.Key.Hidden.ToString(Inv), Time(T(mine), g.Any(r => r.Info.Engine == mine)) };
                    if (mine2 != mine) cells.Add(Time(T(mine2), g.Any(r => r.Info.Engine == mine2)));
                    cells.AddRange(peers2.Select(p => Time(T(p), g.Any(r => r.Info.Engine == p))));
                    cells.AddRange(peers2.Select(p => Ratio(T(p), T(mine2))));
                    if (mine2 != mine) cells.Add(Ratio(T(mine2), T(mine)));
                    Row(sb, cells);
                }
                sb.AppendLine();
            }
        }

        sb.Append(WeightFormatMarkdown(rows, mine, peers1));

        sb.AppendLine("### Managed bytes allocated per call, max over scenarios");
        sb.AppendLine();
        sb.AppendLine("Calling thread: GC.GetAllocatedBytesForCurrentThread around 8 calls after warm-up, exact. " +
                      "MemoryDiagnoser: BenchmarkDotNet's figure, which in-process also counts other threads (JIT tiering), so a case that runs one op per iteration can show a few stray bytes.");
        sb.AppendLine();
        Row(sb, ["engine", "Step, calling thread", "Run, calling thread", "Step, MemoryDiagnoser", "Run, MemoryDiagnoser"]);
        Row(sb, ["---", "---:", "---:", "---:", "---:"]);
        foreach (string e in engines)
        {
            string Max(ScenarioKind k, bool thread)
            {
                var v = rows.Where(r => r.Info.Engine == e && r.Info.Kind == k)
                    .Select(r => thread ? r.ThreadBytes : r.AllocatedBytes).Where(b => b is not null).Select(b => b!.Value).ToList();
                return v.Count == 0 ? "-" : $"{v.Max():0.#} B";
            }
            Row(sb, [e, Max(ScenarioKind.Step, true), Max(ScenarioKind.Run, true), Max(ScenarioKind.Step, false), Max(ScenarioKind.Run, false)]);
        }
        sb.AppendLine();
        return sb.ToString();
    }

    /// <summary>
    /// The weight formats side by side: <paramref name="mine"/> with float32, bfloat16 and int8
    /// weights (each one thread), their times over float32's and the one-thread peers' over int8's.
    /// </summary>
    public static string WeightFormatMarkdown(IReadOnlyList<Measured> rows, string mine, string[] peers1)
    {
        string bf16 = Engines.WithFormat(mine, RnnWeightFormat.BFloat16), int8 = Engines.WithFormat(mine, RnnWeightFormat.Int8);
        if (!rows.Any(r => r.Info.Engine == bf16 || r.Info.Engine == int8)) return "";
        var sb = new StringBuilder();
        foreach (var (kind, batch) in new[] { (ScenarioKind.Step, 1), (ScenarioKind.Run, 1), (ScenarioKind.Run, 16) })
        {
            var inScenario = rows.Where(r => r.Info.Kind == kind && r.Info.Batch == batch).ToList();
            if (!inScenario.Any(r => r.Info.Engine == bf16 || r.Info.Engine == int8)) continue;
            sb.AppendLine($"### Weight formats: {(kind == ScenarioKind.Step ? "Step" : "Run, T = 100")}, batch {batch}, one thread");
            sb.AppendLine();
            sb.AppendLine($"`{bf16}` and `{int8}`: RnnOptions.WeightFormat BFloat16 and Int8 (see the accuracy table in BENCHMARKS.md). Below 1 in `/ {mine}`: the narrow weights are faster.");
            sb.AppendLine();
            var header = new List<string> { "cell", "hidden", mine, bf16, int8, $"{bf16} / {mine}", $"{int8} / {mine}" };
            header.AddRange(peers1.Select(p => $"{p} / {int8}"));
            Row(sb, header);
            Row(sb, header.Select((_, i) => i < 2 ? "---" : "---:"));
            foreach (var g in inScenario.GroupBy(r => (r.Info.Cell, r.Info.Hidden)).OrderBy(g => g.Key.Cell).ThenBy(g => g.Key.Hidden))
            {
                double? T(string e) => g.FirstOrDefault(r => r.Info.Engine == e)?.MedianNs;
                var cells = new List<string> { g.Key.Cell.Name(), g.Key.Hidden.ToString(Inv) };
                cells.AddRange(new[] { mine, bf16, int8 }.Select(e => Time(T(e), g.Any(r => r.Info.Engine == e))));
                cells.Add(Ratio(T(bf16), T(mine)));
                cells.Add(Ratio(T(int8), T(mine)));
                cells.AddRange(peers1.Select(p => Ratio(T(p), T(int8))));
                Row(sb, cells);
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>The input projection's achieved rate per engine, from ProjectionBench's wide/narrow pairs.</summary>
    public static string ProjectionMarkdown(IEnumerable<Summary> summaries)
    {
        var sb = new StringBuilder();
        var cases = summaries.SelectMany(s => s.BenchmarksCases.Select(c => (s, c)))
            .Where(x => x.c.Descriptor.Type == typeof(ProjectionBench) && (string)x.c.Parameters["Input"] == "H").ToList();
        if (cases.Count == 0) return "";
        sb.AppendLine("### Run input projection (GRU, T = 100), isolated: input = hidden minus input = 8");
        sb.AppendLine();
        sb.AppendLine("Fastest iteration of each (min, robust to bursts of other load). The difference holds the projection of H - 8 input columns " +
                      "for all T*B rows, plus reading and validating the wider input (T*B*H floats, < 1% of it); projection GFLOP/s = 2*T*B*3H*(H-8) / difference.");
        sb.AppendLine();
        Row(sb, ["engine", "hidden", "batch", "T*B rows", "Run, input H", "Run, input 8", "projection GFLOP/s",
                 $"% of 256-bit peak ({MachineProbe.Peak256Gflops:F0})", $"% of widest peak ({MachineProbe.PeakGflops:F0})", $"% of DESIGN peak ({Roofline.DesignPeakGflops})"]);
        Row(sb, ["---", "---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]);
        foreach (var (s, c) in cases)
        {
            BenchmarkDotNet.Running.BenchmarkCase? narrow = s.BenchmarksCases.FirstOrDefault(o =>
                (string)o.Parameters["Input"] == "8" && Equals(o.Parameters["Engine"], c.Parameters["Engine"]) &&
                Equals(o.Parameters["Hidden"], c.Parameters["Hidden"]) && Equals(o.Parameters["Batch"], c.Parameters["Batch"]));
            double? g = ProjectionColumn.Gflops(s, c);
            int b = (int)c.Parameters["Batch"];
            string Pct(double peak) => g is double v ? (100 * v / peak).ToString("F0", Inv) + "%" : "-";
            Row(sb, [(string)c.Parameters["Engine"], c.Parameters["Hidden"].ToString()!, b.ToString(Inv), (RunBench.Steps * b).ToString(Inv),
                     Time(s[c]?.ResultStatistics?.Min), Time(narrow is null ? null : s[narrow]?.ResultStatistics?.Min),
                     g is double v ? v.ToString("F1", Inv) : "-", Pct(MachineProbe.Peak256Gflops), Pct(MachineProbe.PeakGflops), Pct(Roofline.DesignPeakGflops)]);
        }
        sb.AppendLine();
        return sb.ToString();
    }

    /// <summary>Per-call fixed cost per engine, from OverheadBench (GRU, hidden = input = 8).</summary>
    public static string OverheadMarkdown(IEnumerable<Summary> summaries)
    {
        var cases = summaries.SelectMany(s => s.BenchmarksCases.Select(c => (s, c)))
            .Where(x => x.c.Descriptor.Type == typeof(OverheadBench)).ToList();
        if (cases.Count == 0) return "";
        var sb = new StringBuilder();
        sb.AppendLine($"### Fixed cost of one streaming call (GRU, hidden = input = {OverheadBench.Hidden}, Step batch 1)");
        sb.AppendLine();
        Row(sb, ["engine", "median", "min"]);
        Row(sb, ["---", "---:", "---:"]);
        foreach (var (s, c) in cases)
            Row(sb, [(string)c.Parameters["Engine"], Time(s[c]?.ResultStatistics?.Median), Time(s[c]?.ResultStatistics?.Min)]);
        sb.AppendLine();
        return sb.ToString();
    }

    /// <summary>Engines measured, in the suite's order (rnnrt backends, then peers).</summary>
    public static string[] EngineOrder(IReadOnlyList<Measured> rows)
    {
        var present = rows.Select(r => r.Info.Engine).Distinct().ToList();
        string[] known = [.. Backends.BackendRegistry.Known, .. Engines.Peers];
        return [.. known.Where(present.Contains), .. present.Where(e => !known.Contains(e))];
    }

    private static void Row(StringBuilder sb, IEnumerable<string> cells) => sb.AppendLine("| " + string.Join(" | ", cells) + " |");

    private static string Time(double? ns, bool present = true) =>
        ns is double v ? SuiteColumn.FormatNs(v) : present ? "failed" : "-";

    private static string Ratio(double? a, double? b) =>
        a is double x && b is double y && y > 0 ? (x / y).ToString(x / y >= 10 ? "F0" : "F2", Inv) : "-";

    private static string Size(long bytes) => bytes >= 1 << 20 ? $"{bytes >> 20} MiB" : $"{bytes >> 10} KiB";
}
