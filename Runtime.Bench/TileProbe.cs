using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using RnnRuntime.Backends.Cpu;
using RnnRuntime.Model;

namespace RnnRuntime.Bench;

/// <summary>
/// `tileprobe ROWS OUTS DEPTH [avx512|avx2]`: time of one float32 product of ROWS rows of x against an
/// OUTS x DEPTH matrix through <see cref="MatMulTile{S, TV}"/> (every panel, as a Run's projection or
/// a batch's recurrent product calls it), best of 8 passes of 60 ms, for each comma-separated ROWS
/// and OUTS. A seconds-long way to compare kernel changes (depth block, prefetch, tile shape) by
/// rebuilding between runs, without BenchmarkDotNet's minutes; the suite's RunBench stays the figure
/// of record.
/// </summary>
internal static unsafe class TileProbe
{
    public static int Run(string[] args)
    {
        if (args.Length < 3)
        {
            Console.Error.WriteLine("usage: tileprobe ROWS[,ROWS..] OUTS[,OUTS..] DEPTH [avx512|avx2]");
            return 2;
        }
        int[] rowsList = args[0].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        int[] outs = args[1].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        int depth = int.Parse(args[2], CultureInfo.InvariantCulture);
        bool avx2 = args.Length > 3 && args[3] == "avx2";
        if (avx2 ? !Vector256.IsHardwareAccelerated : !Vector512.IsHardwareAccelerated)
        {
            Console.Error.WriteLine($"tileprobe: {(avx2 ? "avx2" : "avx512")} is not available on this machine");
            return 2;
        }
        int vector = avx2 ? 8 : 16;
        foreach (int n in outs)
        {
            var rng = new Random(1);
            var w = new float[n * depth];
            for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() - 0.5);
            using var packed = new PackedMatrix(new WeightTensor(n, depth, w), new float[n], 1, n, vector);
            nint cf = packed.PaddedColumns * vector;
            foreach (int rows in rowsList)
            {
                float* x = (float*)NativeMemory.AlignedAlloc((nuint)((long)rows * depth * 4), 64);
                float* o = (float*)NativeMemory.AlignedAlloc((nuint)(rows * cf * 4), 64);
                for (long i = 0; i < (long)rows * depth; i++) x[i] = (float)(rng.NextDouble() - 0.5);
                double best = double.MaxValue;
                for (int pass = 0; pass < 8; pass++)
                {
                    var sw = Stopwatch.StartNew();
                    int calls = 0;
                    do
                    {
                        for (int p = 0; p < packed.Panels; p++)
                        {
                            if (avx2) MatMulTile<Simd256, Vector256<float>>.Panel(packed, p, new PanelInput(x, depth, null, null), rows, o, cf);
                            else MatMulTile<Simd512, Vector512<float>>.Panel(packed, p, new PanelInput(x, depth, null, null), rows, o, cf);
                        }
                        calls++;
                    } while (sw.Elapsed.TotalMilliseconds < 60);
                    best = Math.Min(best, sw.Elapsed.TotalSeconds / calls);
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(avx2 ? "avx2" : "avx512")} rows {rows} x depth {depth} x outs {n} ({(long)n * depth * 4 >> 10} KiB of weights): {best * 1e6:F1} us, {2.0 * rows * n * depth / best / 1e9:F1} GFLOP/s"));
                NativeMemory.AlignedFree(x);
                NativeMemory.AlignedFree(o);
            }
        }
        return 0;
    }
}
