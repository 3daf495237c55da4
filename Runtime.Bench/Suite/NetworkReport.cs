using System.Globalization;
using System.Text;
using BenchmarkDotNet.Reports;
using RnnRuntime.Backends;

namespace RnnRuntime.Bench.Suite;

/// <summary>One measured network case: the median (robust to other load), BenchmarkDotNet's allocation figure, the calling thread's.</summary>
public sealed record NetworkMeasured(string Network, string Engine, ScenarioKind Kind, double? MedianNs, long? AllocatedBytes, double? ThreadBytes);

/// <summary>
/// The networks report (results/{name}-networks.md): per network and engine the Step b1 and Run
/// T = 100 b1 times, rnnrt vs ONNX Runtime, and the networks issue's target, judged from the same
/// run: a network's Step within 1.15x of (its recurrent part's Step + its linear layers' weight bytes
/// / read bandwidth at the network's footprint), i.e. a linear head costs no more than its bytes.
/// </summary>
public static class NetworkReport
{
    /// <summary>The target's ratio: network Step / (recurrent part Step + linear bytes / bandwidth).</summary>
    public const double Limit = 1.15;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static IReadOnlyList<NetworkMeasured> Collect(IEnumerable<Summary> summaries) =>
        summaries.SelectMany(s => s.BenchmarksCases.Select(c => (s, c)))
            .Where(x => NetworkScenarioBase.IsNetworkScenario(x.c.Descriptor.Type))
            .Select(x =>
            {
                string network = (string)x.c.Parameters["Network"], engine = (string)x.c.Parameters["Engine"];
                ScenarioKind kind = x.c.Descriptor.WorkloadMethod.Name == "Step" ? ScenarioKind.Step : ScenarioKind.Run;
                BenchmarkReport? r = x.s[x.c];
                return new NetworkMeasured(network, engine, kind, r?.ResultStatistics?.Median,
                    r?.GcStats.GetBytesAllocatedPerOperation(x.c), Allocations.PerCall(engine, network, kind));
            })
            .ToList();

    /// <summary>Batch-1 step floor of a variant: its weight bytes / read bandwidth of a buffer that size.</summary>
    public static double StepFloorNs(BenchNetwork n) => n.WeightBytes / MachineProbe.ReadBandwidth(n.WeightBytes);

    /// <summary>The linear layers' share of the floor: their bytes at the bandwidth of the whole network's footprint.</summary>
    public static double LinearFloorNs(BenchNetwork n) => n.LinearBytes / MachineProbe.ReadBandwidth(n.WeightBytes);

    /// <summary>The 1.15x target alone, from the interleaved pairs of every CPU backend present: the
    /// quick check after a change to a linear layer (the full verdict is in the networks report).</summary>
    public static int PrintPairs()
    {
        MachineProbe.Refresh();
        foreach (string e in new[] { "avx2", "avx512" }.Where(e => BackendRegistry.UnavailableReason(e) is null))
            foreach (string n in BenchNetwork.Networks)
            {
                BenchNetwork network = BenchNetwork.Get(n);
                (double net, double part) = NetworkPairProbe.Measure(e, network);
                double floor = LinearFloorNs(network);
                Console.WriteLine($"{e} {n}: network {net:F1} ns, recurrent part {part:F1} ns, linear bytes at the floor {floor:F1} ns: " +
                                  $"{net / (part + floor):F3}x (target 1.15x)");
            }
        return 0;
    }

    /// <summary>Writes results/{name}.md; returns its path.</summary>
    public static string Write(IReadOnlyList<NetworkMeasured> rows, string name, string machineLine)
    {
        // The interleaved pair for every rnnrt backend (not the reference) whose network Steps were timed.
        var paired = new Dictionary<(string, string), (double, double)>();
        foreach (string e in rows.Where(r => r.Kind == ScenarioKind.Step && !Engines.IsPeer(r.Engine) && r.Engine != Engines.Reference)
                     .Select(r => r.Engine).Distinct())
            foreach (string n in BenchNetwork.Networks.Where(n => rows.Any(r => r.Engine == e && r.Network == n && r.Kind == ScenarioKind.Step)))
            {
                paired[(e, n)] = NetworkPairProbe.Measure(e, BenchNetwork.Get(n));
                Console.WriteLine($"// pair: {e} {n}: network {paired[(e, n)].Item1:F1} ns, recurrent part {paired[(e, n)].Item2:F1} ns (fastest interleaved blocks)");
            }
        string dir = Report.ResultsDirectory();
        Directory.CreateDirectory(dir);
        string md = Path.Combine(dir, name + ".md");
        File.WriteAllText(md, Markdown(rows, name, machineLine, paired));
        return md;
    }

    public static string Markdown(IReadOnlyList<NetworkMeasured> rows, string name, string machineLine,
        IReadOnlyDictionary<(string Engine, string Network), (double NetworkNs, double PartNs)>? paired = null)
    {
        paired ??= new Dictionary<(string, string), (double, double)>();
        var sb = new StringBuilder();
        string auto = BackendRegistry.ResolveAuto();
        var present = rows.Select(r => r.Engine).Distinct().ToList();
        string[] known = [.. BackendRegistry.Known, .. Engines.Peers];
        string[] engines = [.. known.Where(present.Contains), .. present.Where(e => !known.Contains(e))];
        string[] rnnrt = engines.Where(e => !Engines.IsPeer(e)).ToArray();
        string[] peers1 = engines.Where(e => e.EndsWith("-1t", StringComparison.Ordinal)).ToArray();
        string[] peers2 = engines.Where(e => e.EndsWith("-2t", StringComparison.Ordinal)).ToArray();
        string mine = rnnrt.Contains(auto) ? auto : rnnrt.FirstOrDefault(e => e != Engines.Reference) ?? rnnrt.FirstOrDefault() ?? auto;
        double? T(string network, string engine, ScenarioKind kind) =>
            rows.FirstOrDefault(r => r.Network == network && r.Engine == engine && r.Kind == kind)?.MedianNs;
        bool Ran(string network, string engine, ScenarioKind kind) =>
            rows.Any(r => r.Network == network && r.Engine == engine && r.Kind == kind);
        var variants = BenchNetwork.All.Where(v => rows.Any(r => r.Network == v)).Select(BenchNetwork.Get).ToList();

        sb.AppendLine($"<!-- written by Runtime.Bench ({name}); do not edit by hand -->");
        sb.AppendLine($"Machine: {machineLine}  ");
        sb.AppendLine("Machine probe (one core, in-process): read bandwidth at each footprint: " +
                      string.Join(", ", variants.Select(v => $"{v.Name} {Size(v.WeightBytes)} {MachineProbe.ReadBandwidth(v.WeightBytes):F0} GB/s")) + "  ");
        sb.AppendLine($"Times are BenchmarkDotNet medians, batch 1. rnnrt in ratios = `{mine}` (auto resolves to `{auto}`). Ratio = peer time / rnnrt time: above 1, rnnrt is faster.  ");
        sb.AppendLine("Floor (Step): the variant's weight bytes / read bandwidth of a buffer that size. A `-recurrent` row is the same file loaded with " +
                      "RnnOptions.Layers naming only its recurrent modules: the same weights without the linear layers, activations and skip.");
        foreach (string e in engines)
            foreach (string v in BenchNetwork.All.Where(v => Engines.NetworkSkip(e, v) is not null).Take(1))
                sb.AppendLine($"Not timed: {e} on {string.Join(", ", BenchNetwork.All.Where(x => Engines.NetworkSkip(e, x) is not null))}: {Engines.NetworkSkip(e, v)} (`check networks` shows it).  ");
        sb.AppendLine();

        sb.AppendLine("| network | layers | in -> out | weight bytes | linear layers' bytes |");
        sb.AppendLine("| --- | --- | ---: | ---: | ---: |");
        foreach (BenchNetwork v in variants)
            sb.AppendLine($"| {v.Name} | {v.Shape} | {v.Input} -> {v.Output} | {v.WeightBytes} | {v.LinearBytes} |");
        sb.AppendLine();

        // The target, per rnnrt backend (the reference is the oracle, not judged).
        sb.AppendLine("### Target");
        sb.AppendLine();
        sb.AppendLine($"A linear head costs no more than its own weight bytes at the floor: network Step b1 <= {Limit.ToString(Inv)} x (recurrent part's Step b1 + " +
                      "linear layers' bytes / read bandwidth at the network's footprint), all from this run.");
        sb.AppendLine();
        sb.AppendLine("Medians: the BenchmarkDotNet medians of the two Step cases (run back to back), the suite's usual judge. " +
                      $"Interleaved: {NetworkPairProbe.Budget.TotalSeconds.ToString(Inv)} s per pair at report time, alternating ~50 us blocks of Steps of the network and of its recurrent part, " +
                      "fastest block of each: both under the same load, so the ratio holds on a busy machine where medians taken seconds apart may not.");
        sb.AppendLine();
        sb.AppendLine("| engine | measure | figures (" + string.Join(" / ", BenchNetwork.Networks) + "): network / (part + linear bytes / bandwidth) | verdict |");
        sb.AppendLine("| --- | --- | --- | --- |");
        foreach (string e in rnnrt.Where(e => e != Engines.Reference))
        {
            foreach (bool interleaved in new[] { false, true })
            {
                var figures = BenchNetwork.Networks.Select(net =>
                {
                    BenchNetwork whole = BenchNetwork.Get(net);
                    double? network, part;
                    if (interleaved)
                        (network, part) = paired.TryGetValue((e, net), out var p) ? (p.NetworkNs, p.PartNs) : ((double?)null, (double?)null);
                    else
                        (network, part) = (T(net, e, ScenarioKind.Step), T(whole.RecurrentPart.Name, e, ScenarioKind.Step));
                    if (network is not double t || part is not double q) return (Ratio: (double?)null, Text: "-");
                    double linear = LinearFloorNs(whole), bound = q + linear;
                    return (Ratio: t / bound, Text: $"{(t / bound).ToString("F3", Inv)}x ({Ns(t)} / ({Ns(q)} + {whole.LinearBytes} B / " +
                        $"{MachineProbe.ReadBandwidth(whole.WeightBytes).ToString("F0", Inv)} GB/s = {Ns(linear)}))");
                }).ToArray();
                if (interleaved && figures.All(f => f.Ratio is null)) continue;
                string verdict = figures.All(f => f.Ratio is null) ? "not measured"
                    : figures.All(f => f.Ratio is double r && r <= Limit) ? "met"
                    : figures.Any(f => f.Ratio is double r && r <= Limit) ? "partly met" : "not met";
                sb.AppendLine($"| {e}{(e == mine ? " (rnnrt)" : "")} | {(interleaved ? "interleaved" : "medians")} | {string.Join(" / ", figures.Select(f => f.Text))} | {verdict} |");
            }
        }
        sb.AppendLine();

        foreach (var (kind, title) in new[] { (ScenarioKind.Step, "Step, batch 1 (streaming), time per step"), (ScenarioKind.Run, "Run, T = 100, batch 1, time per call (100 steps)") })
        {
            if (!rows.Any(r => r.Kind == kind)) continue;
            sb.AppendLine($"### {title}");
            sb.AppendLine();
            string[] cols = [.. rnnrt, .. peers1];
            var header = new List<string> { "network" };
            if (kind == ScenarioKind.Step) header.Add("floor");
            header.AddRange(cols);
            header.AddRange(peers1.Select(p => $"{p} / {mine}"));
            if (kind == ScenarioKind.Step) header.Add($"{mine} / floor");
            if (rnnrt.Contains(Engines.Reference)) header.Add($"reference / {mine}");
            Row(sb, header);
            Row(sb, header.Select((_, i) => i < 1 ? "---" : "---:"));
            foreach (BenchNetwork v in variants)
            {
                var cells = new List<string> { v.Name };
                if (kind == ScenarioKind.Step) cells.Add(Ns(StepFloorNs(v)));
                cells.AddRange(cols.Select(e => Time(T(v.Name, e, kind), Ran(v.Name, e, kind))));
                cells.AddRange(peers1.Select(p => Ratio(T(v.Name, p, kind), T(v.Name, mine, kind))));
                if (kind == ScenarioKind.Step) cells.Add(Ratio(T(v.Name, mine, kind), StepFloorNs(v)));
                if (rnnrt.Contains(Engines.Reference)) cells.Add(Ratio(T(v.Name, Engines.Reference, kind), T(v.Name, mine, kind)));
                Row(sb, cells);
            }
            sb.AppendLine();
            if (peers2.Length > 0)
            {
                sb.AppendLine($"Two intra-op threads for the peers (rnnrt `{mine}` is one thread):");
                sb.AppendLine();
                var h2 = new List<string> { "network", mine };
                h2.AddRange(peers2);
                h2.AddRange(peers2.Select(p => $"{p} / {mine}"));
                Row(sb, h2);
                Row(sb, h2.Select((_, i) => i < 1 ? "---" : "---:"));
                foreach (BenchNetwork v in variants)
                {
                    var cells = new List<string> { v.Name, Time(T(v.Name, mine, kind), Ran(v.Name, mine, kind)) };
                    cells.AddRange(peers2.Select(p => Time(T(v.Name, p, kind), Ran(v.Name, p, kind))));
                    cells.AddRange(peers2.Select(p => Ratio(T(v.Name, p, kind), T(v.Name, mine, kind))));
                    Row(sb, cells);
                }
                sb.AppendLine();
            }
        }

        // What the layers around the recurrent modules cost each engine, per call.
        sb.AppendLine("### Cost of the layers around the recurrent modules: network minus its recurrent part");
        sb.AppendLine();
        Row(sb, ["engine", .. BenchNetwork.Networks.SelectMany(n => new[] { $"{n} Step", $"{n} Run (100 steps)" })]);
        Row(sb, ["---", .. BenchNetwork.Networks.SelectMany(_ => new[] { "---:", "---:" })]);
        foreach (string e in engines)
        {
            var cells = new List<string> { e };
            foreach (string n in BenchNetwork.Networks)
                foreach (ScenarioKind k in new[] { ScenarioKind.Step, ScenarioKind.Run })
                    cells.Add(T(n, e, k) is double a && T(BenchNetwork.Get(n).RecurrentPart.Name, e, k) is double b ? Ns(a - b) : "-");
            Row(sb, cells);
        }
        sb.AppendLine();
        sb.AppendLine("Linear layers' bytes / bandwidth (their floor): " +
                      string.Join(", ", BenchNetwork.Networks.Where(n => variants.Any(v => v.Name == n)).Select(n => $"{n} {Ns(LinearFloorNs(BenchNetwork.Get(n)))}")) + ".");
        sb.AppendLine();

        sb.AppendLine("### Managed bytes allocated per call, max over networks");
        sb.AppendLine();
        sb.AppendLine("Calling thread: GC.GetAllocatedBytesForCurrentThread around 8 calls after warm-up, exact. MemoryDiagnoser: BenchmarkDotNet's figure (in-process it also counts other threads).");
        sb.AppendLine();
        Row(sb, ["engine", "Step, calling thread", "Run, calling thread", "Step, MemoryDiagnoser", "Run, MemoryDiagnoser"]);
        Row(sb, ["---", "---:", "---:", "---:", "---:"]);
        foreach (string e in engines)
        {
            string Max(ScenarioKind k, bool thread)
            {
                var v = rows.Where(r => r.Engine == e && r.Kind == k)
                    .Select(r => thread ? r.ThreadBytes : r.AllocatedBytes).Where(b => b is not null).Select(b => b!.Value).ToList();
                return v.Count == 0 ? "-" : $"{v.Max():0.#} B";
            }
            Row(sb, [e, Max(ScenarioKind.Step, true), Max(ScenarioKind.Run, true), Max(ScenarioKind.Step, false), Max(ScenarioKind.Run, false)]);
        }
        sb.AppendLine();
        return sb.ToString();
    }

    private static void Row(StringBuilder sb, IEnumerable<string> cells) => sb.AppendLine("| " + string.Join(" | ", cells) + " |");

    private static string Ns(double ns) => SuiteColumn.FormatNs(ns);

    private static string Time(double? ns, bool present) => ns is double v ? Ns(v) : present ? "failed" : "-";

    private static string Ratio(double? a, double? b) =>
        a is double x && b is double y && y > 0 ? (x / y).ToString(x / y >= 10 ? "F0" : "F2", Inv) : "-";

    private static string Size(long bytes) => bytes >= 1 << 20 ? $"{bytes / (double)(1 << 20):F1} MiB" : $"{bytes / 1024.0:F1} KiB";
}
