using System.Diagnostics;
using System.Globalization;
using RnnRuntime.Model;

namespace RnnRuntime.Bench;

/// <summary>
/// The per-sample latency of the small audio-shaped networks (RTNeural's comparison set), each on the
/// latency path and forced onto the panel path, Step per sample and Run on 64-sample blocks, in
/// interleaved rounds within one process. A quick A/B for the latency kernels and their threshold:
///   ./build.sh bench latencyprobe [ENGINE] [ROUNDS]
/// (ENGINE avx512, avx2 or sse; default auto). BenchmarkDotNet's suite is where figures come from.
/// </summary>
internal static class LatencyProbe
{
    public static readonly (string Name, Func<SyntheticNetwork> Build, int Input)[] Networks =
    [
        ("lstm40", () => new SyntheticNetwork(40).Recurrent("rnn", RnnCellKind.Lstm, 1, 40).Linear("fc", 40, 1), 1),
        ("lstm16", () => new SyntheticNetwork(16).Recurrent("rnn", RnnCellKind.Lstm, 1, 16).Linear("fc", 16, 1), 1),
        ("gru40", () => new SyntheticNetwork(41).Recurrent("rnn", RnnCellKind.Gru, 1, 40).Linear("fc", 40, 1), 1),
        ("lstm8x4", () => new SyntheticNetwork(8).Recurrent("rnn0", RnnCellKind.Lstm, 1, 8).Recurrent("rnn", RnnCellKind.Lstm, 8, 8, layers: 3).Linear("fc", 8, 1), 1),
        ("gru8x4", () => new SyntheticNetwork(9).Recurrent("rnn0", RnnCellKind.Gru, 1, 8).Recurrent("rnn", RnnCellKind.Gru, 8, 8, layers: 3).Linear("fc", 8, 1), 1),
        ("gru64", () => new SyntheticNetwork(64).Recurrent("rnn", RnnCellKind.Gru, 16, 64).Linear("fc", 64, 16), 16),
        ("lstm128", () => new SyntheticNetwork(128).Recurrent("rnn", RnnCellKind.Lstm, 32, 128).Linear("fc", 128, 1), 32),
    ];

    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "threshold") return Threshold(args.Length > 1 ? args[1] : "auto", args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 7);
        if (args.Length > 0 && args[0] == "modules") return Modules(args.Length > 1 ? args[1] : "auto", args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5);
        if (args.Length > 0 && args[0] == "overhead") return Overhead(args.Length > 1 ? args[1] : "auto");
        if (args.Length > 2 && args[0] == "loop") return Loop(args[1], args[2], args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 10);
        string engine = args.Length > 0 ? args[0] : "auto";
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
        int samples = Environment.GetEnvironmentVariable("RNNRT_PROBE_SAMPLES") is { Length: > 0 } n ? int.Parse(n, CultureInfo.InvariantCulture) : 24000;
        const int block = 64;
        Console.WriteLine($"engine {engine}, {samples} samples per round, median of {rounds} rounds (and the fastest), ns per sample");
        Console.WriteLine("| network | latency Step | panel Step | latency/panel | latency Run/64 | Run/Step |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (name, build, input) in Networks)
        {
            byte[] file = build().Build();
            using var fast = RnnModel.Load(file, new RnnOptions { Backend = engine });
            using var panel = RnnModel.Load(file, new RnnOptions { Backend = engine, LatencyMaxWeightBytes = -1 });
            var xs = new float[samples * input];
            var rng = new Random(1);
            for (int i = 0; i < xs.Length; i++) xs[i] = (float)Math.Sin(i * 0.01) * 0.5f + (float)(rng.NextDouble() - 0.5) * 0.1f;
            var ys = new float[samples * fast.OutputSize];
            var times = new List<double>[3] { [], [], [] };
            for (int r = 0; r < rounds + 1; r++)
            {
                for (int which = 0; which < 3; which++)
                {
                    int e = (which + r) % 3;
                    using RnnSession s = (e == 1 ? panel : fast).CreateSession();
                    var sw = Stopwatch.StartNew();
                    if (e == 2)
                        for (int i = 0; i < samples; i += block)
                            s.Run(xs.AsSpan(i * input, block * input), block, ys.AsSpan(i * fast.OutputSize, block * fast.OutputSize));
                    else
                        for (int i = 0; i < samples; i++)
                            s.Step(xs.AsSpan(i * input, input), ys.AsSpan(i * fast.OutputSize, fast.OutputSize));
                    if (r > 0) times[e].Add(sw.Elapsed.TotalNanoseconds / samples);
                }
            }
            double Median(List<double> t) { t.Sort(); return t[t.Count / 2]; }
            double l = Median(times[0]), p = Median(times[1]), run = Median(times[2]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {l:F0} | {p:F0} | {l / p:F2} | {run:F0} | {run / l:F2} |"));
        }
        return 0;
    }

    /// <summary>The public Step against the state's own Step (no gate, no checks) on a GRU(8, 8): the
    /// fixed cost of a call in .NET, fastest of interleaved rounds.</summary>
    private static int Overhead(string engine)
    {
        byte[] file = new SyntheticNetwork(3).Recurrent("gru", RnnCellKind.Gru, 8, 8).Build();
        using var model = RnnModel.Load(file, new RnnOptions { Backend = engine });
        using RnnSession s = model.CreateSession();
        var x = new float[8];
        var y = new float[8];
        x[0] = 0.5f;
        const int calls = 200_000;
        double best0 = double.MaxValue, best1 = double.MaxValue;
        for (int r = 0; r < 15; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < calls; i++) s.Step(x, y);
            double t0 = sw.Elapsed.TotalNanoseconds / calls;
            sw.Restart();
            for (int i = 0; i < calls; i++) s.State.Step(x, y);
            double t1 = sw.Elapsed.TotalNanoseconds / calls;
            best0 = Math.Min(best0, t0);
            best1 = Math.Min(best1, t1);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{model.Backend} gru(8, 8) Step {best0:F1} ns, state.Step {best1:F1} ns: gate and checks {best0 - best1:F1} ns (fastest of 15 rounds of {calls} calls)"));
        return 0;
    }

    /// <summary>Step on one network for a while, for a profiler: latencyprobe loop NETWORK ENGINE [SECONDS].</summary>
    private static int Loop(string name, string engine, double seconds)
    {
        var (_, build, input) = Networks.First(n => n.Name == name);
        using var model = RnnModel.Load(build().Build(), new RnnOptions { Backend = engine });
        using RnnSession s = model.CreateSession();
        var x = new float[input];
        var y = new float[model.OutputSize];
        // Rounds of 10 000 calls for the given time after a warm-up of a quarter of it (the JIT's tiers
        // settle there); the median round, so one process gives one figure (the spread job compares them).
        var rounds = new List<double>();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds * 1.25)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < 10000; i++)
            {
                x[0] = (i & 255) * (1f / 256);
                s.Step(x, y);
            }
            if (sw.Elapsed.TotalSeconds > seconds * 0.25) rounds.Add(Stopwatch.GetElapsedTime(start).TotalNanoseconds / 10000);
        }
        rounds.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} {model.Backend}: {rounds[rounds.Count / 2]:F0} ns per Step (median of {rounds.Count} rounds of 10000)"));
        return 0;
    }

    /// <summary>
    /// Where the latency kernel stops paying: single modules (input = hidden) of growing size, Step b1 on
    /// the latency path and on the panel path in interleaved rounds; the bytes are one layer's weights,
    /// the quantity <see cref="Backends.Cpu.Latency.LatencyPath"/> compares with its bound.
    /// </summary>
    private static int Threshold(string engine, int rounds)
    {
        Console.WriteLine($"engine {engine}: Step b1, ns per step, median of {rounds} interleaved rounds");
        Console.WriteLine("| module | weight KiB | latency | panel | latency/panel |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (RnnCellKind cell in new[] { RnnCellKind.Gru, RnnCellKind.Lstm })
            foreach (int h in new[] { 32, 64, 96, 128, 160, 192, 224, 256, 320 })
            {
                byte[] file = new SyntheticNetwork(h).Recurrent("rnn", cell, h, h).Build();
                using var fast = RnnModel.Load(file, new RnnOptions { Backend = engine, LatencyMaxWeightBytes = long.MaxValue });
                using var panel = RnnModel.Load(file, new RnnOptions { Backend = engine, LatencyMaxWeightBytes = -1 });
                int calls = Math.Max(2000, 20_000_000 / (h * h * 8));
                var x = new float[h];
                var y = new float[h];
                var t = new List<double>[2] { [], [] };
                for (int r = 0; r <= rounds; r++)
                    for (int which = 0; which < 2; which++)
                    {
                        int e = (which + r) % 2;
                        using RnnSession s = (e == 0 ? fast : panel).CreateSession();
                        var sw = Stopwatch.StartNew();
                        for (int i = 0; i < calls; i++)
                        {
                            x[i % h] = (i & 63) * (1f / 64);
                            s.Step(x, y);
                        }
                        if (r > 0) t[e].Add(sw.Elapsed.TotalNanoseconds / calls);
                    }
                double Median(List<double> v) { v.Sort(); return v[v.Count / 2]; }
                double l = Median(t[0]), p = Median(t[1]);
                long bytes = (long)(cell == RnnCellKind.Gru ? 3 : 4) * h * 2 * h * 4;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {cell.Name()}({h}, {h}) | {bytes / 1024} | {l:F0} | {p:F0} | {l / p:F2} |"));
            }
        return 0;
    }

    /// <summary>The bench's module scenarios where rnnrt is at the floor (input = hidden 256 and 1024, Step b1
    /// and Run T=100 b1), median of rounds: run it from two builds in alternating processes for a before/after.</summary>
    private static int Modules(string engine, int rounds)
    {
        foreach (RnnCellKind cell in new[] { RnnCellKind.Gru, RnnCellKind.Lstm })
            foreach (int h in new[] { 256, 1024 })
            {
                byte[] file = new SyntheticNetwork(h + 1).Recurrent("rnn", cell, h, h).Build();
                using var model = RnnModel.Load(file, new RnnOptions { Backend = engine });
                using RnnSession s = model.CreateSession();
                const int T = 100;
                var xs = new float[T * h];
                var ys = new float[T * h];
                for (int i = 0; i < xs.Length; i++) xs[i] = (i % 7) * 0.1f - 0.3f;
                int stepCalls = h >= 1024 ? 300 : 3000, runCalls = h >= 1024 ? 3 : 30;
                var step = new List<double>();
                var run = new List<double>();
                for (int r = 0; r <= rounds; r++)
                {
                    var sw = Stopwatch.StartNew();
                    for (int i = 0; i < stepCalls; i++) s.Step(xs.AsSpan(i % T * h, h), ys.AsSpan(0, h));
                    double st = sw.Elapsed.TotalNanoseconds / stepCalls;
                    sw.Restart();
                    for (int i = 0; i < runCalls; i++) s.Run(xs, T, ys);
                    double rt = sw.Elapsed.TotalNanoseconds / runCalls;
                    if (r > 0) { step.Add(st); run.Add(rt); }
                }
                step.Sort();
                run.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{model.Backend} {cell.Name()}({h}, {h}): Step b1 {step[step.Count / 2] / 1000:F2} us, Run T=100 b1 {run[run.Count / 2] / 1000:F1} us"));
            }
        return 0;
    }
}
