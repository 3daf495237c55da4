using System.Diagnostics;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// The 1.15x target compares two cases, a network and its recurrent part, that BenchmarkDotNet
/// times seconds apart; on a shared machine the load can change in between by more than 15%. This
/// probe times the two on one engine interleaved: short blocks of Steps of one, then of the other,
/// over and over for a fixed budget, keeping each one's fastest block (per-call time of the block). Both see the same load, and
/// the fastest block is what each costs when nothing else runs. Run at report time, in-process.
/// </summary>
public static class NetworkPairProbe
{
    /// <summary>Wall time per (engine, network) pair.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(1.5);

    /// <summary>Fastest per-Step time (ns) of the network and of its recurrent part, interleaved.</summary>
    public static (double NetworkNs, double PartNs) Measure(string engine, BenchNetwork network)
    {
        using IEngine a = Engines.CreateNetwork(engine, network, ScenarioKind.Step, 1, 1);
        using IEngine b = Engines.CreateNetwork(engine, network.RecurrentPart, ScenarioKind.Step, 1, 1);
        network.Inputs(1, 1).CopyTo(a.Input);
        network.RecurrentPart.Inputs(1, 1).CopyTo(b.Input);
        // Warm up (JIT tiers, caches), then size a block to about 50 us of the slower engine.
        Time(a, 200);
        Time(b, 200);
        double perCall = Math.Max(Time(a, 50), Time(b, 50));
        int block = (int)Math.Clamp(50_000 / perCall, 1, 500);
        double bestA = double.MaxValue, bestB = double.MaxValue;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Budget)
        {
            bestA = Math.Min(bestA, Time(a, block));
            bestB = Math.Min(bestB, Time(b, block));
        }
        return (bestA, bestB);
    }

    /// <summary>ns per call, from raw timestamps (a TimeSpan would round to 100 ns ticks).</summary>
    private static double Time(IEngine e, int calls)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < calls; i++) e.Invoke();
        return (Stopwatch.GetTimestamp() - start) * (1e9 / Stopwatch.Frequency) / calls;
    }
}
