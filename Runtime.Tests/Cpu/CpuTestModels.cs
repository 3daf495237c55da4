using System.Runtime.Intrinsics;
using RnnRuntime.Backends;
using RnnRuntime.Backends.Cpu;

namespace RnnRuntime.Tests.Cpu;

/// <summary>The CPU widths under test, and comparisons that say where outputs differ.</summary>
internal static class CpuTestModels
{
    /// <summary>Every CPU width, the Vector128 one by its name on this machine (sse on x86, neon on ARM64).</summary>
    public static readonly string[] Widths = [CpuBackend.Vector128Name, CpuBackend.Avx2Name, CpuBackend.Avx512Name];

    public static CpuVectorWidth WidthOf(string name) => name switch
    {
        CpuBackend.SseName or CpuBackend.NeonName => CpuVectorWidth.Vector128,
        CpuBackend.Avx2Name => CpuVectorWidth.Vector256,
        CpuBackend.Avx512Name => CpuVectorWidth.Vector512,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a CPU backend"),
    };

    /// <summary>Largest |a[i] - b[i]|, and where.</summary>
    public static (double Max, int At) MaxDeviation(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        int at = -1;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - b[i]);
            if (double.IsNaN(d)) return (double.NaN, i);
            if (d > max) { max = d; at = i; }
        }
        return (max, at);
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        (double max, int at) = MaxDeviation(expected, actual);
        Assert.True(max <= tolerance,
            $"{what}: max |deviation| {max:E3} at [{at}] (expected {(at >= 0 ? expected[at] : 0)}, got {(at >= 0 ? actual[at] : 0)}) exceeds {tolerance:E1}");
    }
}

/// <summary>
/// A session-like handle on one CPU width: the model's weights prepared by <see cref="CpuBackend"/>
/// directly, so either width runs on any x64 CPU (without AVX-512 the Vector512 kernels run in
/// software, which the registry would never offer).
/// </summary>
internal sealed class CpuRunner : IDisposable
{
    private readonly IRnnBackend _backend;
    private readonly IPreparedRnn _prepared;
    public readonly RnnState State;

    public CpuRunner(RnnModel model, string width, int batch)
    {
        _backend = new CpuBackend(CpuTestModels.WidthOf(width));
        _prepared = _backend.Prepare(model);
        State = _prepared.CreateState(batch);
    }

    /// <summary>Time steps per input-projection chunk in Run, for this state's batch size.</summary>
    public int ChunkSteps => _prepared switch
    {
        CpuNetwork<Simd256, Vector256<float>> p => p.ChunkSteps(State.BatchSize),
        CpuNetwork<Simd512, Vector512<float>> p => p.ChunkSteps(State.BatchSize),
        _ => throw new InvalidOperationException("not a CPU backend"),
    };

    /// <summary>The prepared plan: which path each layer takes.</summary>
    public IReadOnlyList<Backends.Cpu.Plan.CpuLayerStep> Plan => ((CpuState)State).Plan;

    public void Step(ReadOnlySpan<float> x, Span<float> y) => State.Step(x, y);
    public void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys) => State.Run(xs, steps, ys);

    public void Dispose()
    {
        State.Dispose();
        _prepared.Dispose();
        _backend.Dispose();
    }
}
