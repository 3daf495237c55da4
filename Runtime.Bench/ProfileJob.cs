using System.Diagnostics;
using System.Globalization;
using RnnRuntime.Bench.Suite;

namespace RnnRuntime.Bench;

/// <summary>
/// Runs one scenario's timed call in a loop for a while, for an external profiler:
///   DOTNET_PerfMapEnabled=1 perf record -F 2000 -e cpu-clock -g -- dotnet Runtime.Bench.dll profile avx512 gru 256 step 1 10
/// (this VM exposes no hardware counters, so cpu-clock sampling is what there is).
/// </summary>
internal static class ProfileJob
{
    public static int Run(string[] args)
    {
        if (args.Length < 5)
        {
            Console.Error.WriteLine("usage: profile ENGINE CELL HIDDEN step|run BATCH [SECONDS]");
            return 2;
        }
        string engine = args[0];
        var cell = Enum.Parse<RnnCellKind>(args[1], ignoreCase: true);
        int hidden = int.Parse(args[2], CultureInfo.InvariantCulture);
        var kind = Enum.Parse<ScenarioKind>(args[3], ignoreCase: true);
        int batch = int.Parse(args[4], CultureInfo.InvariantCulture);
        double seconds = args.Length > 5 ? double.Parse(args[5], CultureInfo.InvariantCulture) : 10;

        BenchModel m = BenchModel.Get(cell, hidden);
        using IEngine e = Engines.Create(engine, m, kind, batch, RunBench.Steps);
        m.Inputs(kind == ScenarioKind.Step ? 1 : RunBench.Steps, batch).CopyTo(e.Input);
        // One warm-up call, which also sizes the inner loop: 100 calls between clock reads for
        // microsecond scenarios, one for calls of a millisecond or more (so a short profile of a big
        // scenario does not run 100 of them).
        var first = Stopwatch.StartNew();
        e.Invoke();
        int inner = first.Elapsed.TotalMilliseconds >= 1 ? 1 : 100;
        long calls = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            for (int i = 0; i < inner; i++) e.Invoke();
            calls += inner;
        }
        Console.WriteLine($"{engine} {m} {kind} batch {batch}: {calls} calls, {sw.Elapsed.TotalMilliseconds * 1e3 / calls:F2} us per call");
        return 0;
    }
}
