using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// The floor under each scenario. A batch-1 step reads every weight once for 2 FLOPs per 4-byte
/// float, so it is bandwidth-bound: floor = weight bytes / read bandwidth of the cache level the
/// weights fit in. A Run hoists the input projection (T*B rows against W_ih, compute-bound:
/// FLOPs / FMA peak) and then, per step, reads W_hh once for B columns:
/// max(W_hh bytes / bandwidth of a W_hh-sized buffer, B * recurrent FLOPs / peak).
/// </summary>
public static class Roofline
{
    /// <summary>DESIGN.md's one-core figures (development machine): (largest footprint, GB/s).</summary>
    public static readonly (long Bytes, double GBps)[] DesignBandwidth =
    [
        (256 << 10, 75),
        (768 << 10, 52),
        (3 << 20, 45),
        (6 << 20, 21),
        (long.MaxValue, 14),
    ];

    /// <summary>DESIGN.md's one-core fp32 FMA peak, GFLOP/s.</summary>
    public const double DesignPeakGflops = 38.9;

    public static double DesignBandwidthFor(long bytes) => DesignBandwidth.First(l => bytes <= l.Bytes).GBps;

    /// <summary>Floor in ns of one call of the scenario, from bandwidth (GB/s) and peak (GFLOP/s).</summary>
    public static double FloorNs(BenchModel m, ScenarioKind kind, int batch, int steps, Func<long, double> bandwidth, double peak)
    {
        if (kind == ScenarioKind.Step)
        {
            // bytes / (GB/s) = ns. With batch > 1 the products may turn compute-bound.
            return Math.Max(m.WeightBytes / bandwidth(m.WeightBytes), batch * m.StepFlops / peak);
        }
        double projection = steps * batch * m.InputProjectionFlops / peak;
        // Once the projection is hoisted, the time loop streams W_hh alone: its own size sets the cache level.
        double recurrent = Math.Max(m.RecurrentBytes / bandwidth(m.RecurrentBytes), batch * m.RecurrentFlops / peak);
        return projection + steps * recurrent;
    }

    public static double DesignFloorNs(BenchModel m, ScenarioKind kind, int batch, int steps) =>
        FloorNs(m, kind, batch, steps, DesignBandwidthFor, DesignPeakGflops);

    public static double MeasuredFloorNs(BenchModel m, ScenarioKind kind, int batch, int steps) =>
        FloorNs(m, kind, batch, steps, MachineProbe.ReadBandwidth, MachineProbe.PeakGflops);

    /// <summary>FLOPs of one call (multiply-adds of both products, counted as 2).</summary>
    public static double Flops(BenchModel m, ScenarioKind kind, int batch, int steps) =>
        (kind == ScenarioKind.Step ? 1 : steps) * batch * m.StepFlops;
}

/// <summary>
/// Measures this machine on one core, the way the kernels use it: read bandwidth of a buffer of a
/// given size that is read over and over (so it sits in whatever cache level holds it), and the fp32
/// FMA peak with enough independent accumulators to hide FMA latency. Best of several passes.
/// </summary>
public static class MachineProbe
{
    private static readonly ConcurrentDictionary<long, double> Bandwidths = new();
    private static double _peak, _peak256;

    /// <summary>GB/s reading <paramref name="bytes"/> bytes again and again (the best measurement so far).</summary>
    public static double ReadBandwidth(long bytes) => Bandwidths.GetOrAdd(bytes, MeasureBandwidth);

    /// <summary>
    /// Measures every size again and keeps the better figure: the L3 is shared with the other core,
    /// so on a busy machine one measurement can catch it full of someone else's data.
    /// </summary>
    public static void Refresh()
    {
        foreach (long bytes in Bandwidths.Keys.ToArray())
            Bandwidths[bytes] = Math.Max(Bandwidths[bytes], MeasureBandwidth(bytes));
        _peak = Math.Max(_peak, MeasurePeak(Vector512.IsHardwareAccelerated ? 16 : 8));
        _peak256 = Math.Max(_peak256, MeasurePeak(8));
    }

    /// <summary>GFLOP/s of independent FMAs at the widest accelerated vector width.</summary>
    public static double PeakGflops => _peak > 0 ? _peak : _peak = MeasurePeak(Vector512.IsHardwareAccelerated ? 16 : 8);

    /// <summary>GFLOP/s of independent 256-bit FMAs (the avx2 backend's ceiling).</summary>
    public static double Peak256Gflops => _peak256 > 0 ? _peak256 : _peak256 = MeasurePeak(8);

    private static unsafe double MeasureBandwidth(long bytes)
    {
        nuint floats = (nuint)(bytes / 4 + 63) & ~(nuint)63;
        float* p = (float*)NativeMemory.AlignedAlloc(floats * 4, 64);
        try
        {
            new Span<float>(p, (int)floats).Fill(1f);
            // Enough passes for ~20 ms per sample; best of 7 samples.
            long passes = Math.Max(1, (long)(20e-3 * 20e9 / bytes));
            double best = double.MaxValue;
            float sink = 0;
            for (int sample = 0; sample < 8; sample++)
            {
                long start = Stopwatch.GetTimestamp();
                for (long i = 0; i < passes; i++) sink += ReadSum(p, floats);
                double s = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (sample > 0) best = Math.Min(best, s);   // the first sample warms the caches
            }
            GC.KeepAlive(sink);
            return bytes * (double)passes / best / 1e9;
        }
        finally
        {
            NativeMemory.AlignedFree(p);
        }
    }

    /// <summary>Sums a 64-byte aligned buffer (a multiple of 64 floats) with independent accumulators.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static unsafe float ReadSum(float* p, nuint floats)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (nuint i = 0; i < floats; i += 64)
            {
                a0 += Vector512.LoadAligned(p + i);
                a1 += Vector512.LoadAligned(p + i + 16);
                a2 += Vector512.LoadAligned(p + i + 32);
                a3 += Vector512.LoadAligned(p + i + 48);
            }
            return Vector512.Sum(a0 + a1 + a2 + a3);
        }
        else
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
            for (nuint i = 0; i < floats; i += 64)
            {
                a0 += Vector256.LoadAligned(p + i);
                a1 += Vector256.LoadAligned(p + i + 8);
                a2 += Vector256.LoadAligned(p + i + 16);
                a3 += Vector256.LoadAligned(p + i + 24);
                a4 += Vector256.LoadAligned(p + i + 32);
                a5 += Vector256.LoadAligned(p + i + 40);
                a6 += Vector256.LoadAligned(p + i + 48);
                a7 += Vector256.LoadAligned(p + i + 56);
            }
            return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        }
    }

    private static double MeasurePeak(int width)
    {
        const long iterations = 2_000_000;
        double best = double.MaxValue;
        float sink = 0;
        for (int sample = 0; sample < 6; sample++)
        {
            long start = Stopwatch.GetTimestamp();
            sink += width == 16 ? Fma512(iterations) : Fma256(iterations);
            double s = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (sample > 0) best = Math.Min(best, s);
        }
        GC.KeepAlive(sink);
        // 10 accumulators x width lanes x 2 FLOPs per iteration.
        return iterations * 10.0 * width * 2 / best / 1e9;
    }

    /// <summary>10 independent FMA chains of 256 bits: enough to cover latency x throughput on current cores.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static float Fma256(long iterations)
    {
        var m = Vector256.Create(0.999999f);
        var c = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9);
    }

    /// <summary>The same with 512-bit vectors (only called where AVX-512 is accelerated).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static float Fma512(long iterations)
    {
        var m = Vector512.Create(0.999999f);
        var c = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9);
    }
}
