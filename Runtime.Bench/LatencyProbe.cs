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
}
