using System.Diagnostics;
using System.Globalization;
using RnnRuntime.Model;

namespace RnnRuntime.Bench;

/// <summary>
/// Streams many steps through one session and reports, at 20 points, the process's RSS, the managed
/// heap, GC counts and steps/s over the last interval: all flat over 10^8 steps means nothing leaks
/// or drifts per step. ./build.sh soak [STEPS] runs this and the C program (Runtime.Native/bench/soak.c).
///   soak [STEPS] [BACKEND]    default 10^8 steps, auto; a GRU, input 8, hidden 8 (the per-call
///                             path dominates, so a per-call leak or slowdown shows soonest)
/// </summary>
internal static class SoakJob
{
    public static int Run(string[] args)
    {
        long steps = args.Length > 0 ? long.Parse(args[0], NumberStyles.Float, CultureInfo.InvariantCulture) : 100_000_000;
        string backend = args.Length > 1 ? args[1] : "auto";
        if (steps < 20) { Console.Error.WriteLine("soak: STEPS must be at least 20"); return 2; }
        using var model = RnnModel.Load(SyntheticModel.Create(RnnCellKind.Gru, 8, 8, seed: 5), new RnnOptions { Backend = backend });
        using RnnSession session = model.CreateSession();
        float[] x = new float[8], y = new float[8];
        var rng = new Random(3);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        Console.WriteLine($"soak (C#): {steps:N0} steps of {model} through RnnSession.Step");
        Console.WriteLine("  done %   steps             steps/s     RSS MiB   heap KiB   allocated by the steps   GCs (0/1/2)");
        long interval = steps / 20, done = 0;
        var points = new List<(double Rate, long Rss, long Heap)>();
        long allocatedTotal = 0;
        var clock = Stopwatch.StartNew();
        for (int p = 1; p <= 20; p++)
        {
            long end = p == 20 ? steps : p * interval;
            long start = Stopwatch.GetTimestamp();
            long allocated0 = GC.GetAllocatedBytesForCurrentThread();
            for (; done < end; done++)
            {
                session.Step(x, y);
                // Feed the output back in (bounded by tanh): the state keeps moving, as in a real stream.
                x[0] = y[0];
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocated0;
            if (p > 1) allocatedTotal += allocated;
            double rate = (end - (p - 1) * interval) / Stopwatch.GetElapsedTime(start).TotalSeconds;
            long rss = Environment.WorkingSet, heap = GC.GetTotalMemory(false);
            points.Add((rate, rss, heap));
            Console.WriteLine($"  {p * 5,5}   {done,15:N0}   {rate,13:N0}   {rss / (1 << 20),7}   {heap / 1024,8}   {allocated,22} B   {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}");
        }
        // Judge from the second point on (the first includes JIT tiering and the first-touch of pages).
        var settled = points.Skip(1).ToList();
        long rssGrowth = settled.Max(q => q.Rss) - settled.Min(q => q.Rss);
        long heapGrowth = settled.Max(q => q.Heap) - settled.Min(q => q.Heap);
        double drift = settled[^1].Rate / settled.Take(3).Average(q => q.Rate);
        // The heap figure includes this report's own strings; the steps' own allocation is exact.
        bool flat = rssGrowth < 4 << 20 && heapGrowth < 1 << 20 && allocatedTotal == 0;
        Console.WriteLine($"soak (C#): {clock.Elapsed.TotalSeconds:F0} s; after the first 5%: RSS moved {rssGrowth / 1024} KiB, the heap {heapGrowth / 1024} KiB (this report's strings), the steps allocated {allocatedTotal} B; " +
                          $"last / first steps/s {drift:F2}; y[0] = {y[0]:F6}: {(flat ? "flat" : "NOT FLAT")}");
        return flat ? 0 : 1;
    }
}
