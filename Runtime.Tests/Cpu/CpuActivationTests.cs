using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using RnnRuntime.Backends;
using RnnRuntime.Backends.Cpu;
using RnnRuntime.Model;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests.Cpu;

/// <summary>
/// The vectorized tanh and sigmoid (and the exp inside them) of every width against double
/// precision, as TensorPrimitives' tests check theirs: a sweep over the whole float range (every
/// 509th bit pattern of each sign, ~8.4M values), a dense linear sweep where the functions bend, the
/// special values, and every length 0..256 through the elementwise layer's loop and its tail. The
/// Vector128 width multiplies and adds apart where the JIT has no FMA: that math is swept again in a
/// child process with AVX2 (and with it FMA) switched off.
/// </summary>
public unsafe class CpuActivationTests
{
    private const double MaxAbsError = 1e-6;

    public static TheoryData<string> Widths() => new(CpuTestModels.Widths);

    private static float[] SweepValues()
    {
        var values = new List<float>(9_000_000);
        for (long bits = 0; bits <= 0x7F800000L; bits += 509)
        {
            float v = BitConverter.Int32BitsToSingle((int)bits);
            values.Add(v);
            values.Add(-v);
        }
        for (int i = -200_000; i <= 200_000; i++) values.Add(i * 1e-4f);
        return values.ToArray();
    }

    private static readonly Lazy<float[]> Sweep = new(SweepValues);

    /// <summary>f(x) a whole vector at a time, through the width's own struct.</summary>
    private static float[] Apply(string width, bool tanh, float[] input) => CpuTestModels.WidthOf(width) switch
    {
        CpuVectorWidth.Vector128 => Apply<Simd128, Vector128<float>>(tanh, input),
        CpuVectorWidth.Vector256 => Apply<Simd256, Vector256<float>>(tanh, input),
        _ => Apply<Simd512, Vector512<float>>(tanh, input),
    };

    private static float[] Apply<S, TV>(bool tanh, float[] input) where S : ISimd<TV> where TV : struct
    {
        int v = S.Count;
        int n = (input.Length + v - 1) / v * v;
        var padded = new float[n];
        input.CopyTo(padded, 0);
        var output = new float[n];
        fixed (float* pi = padded, po = output)
            for (int i = 0; i < n; i += v)
                S.Store(po + i, tanh ? S.Tanh(S.Load(pi + i)) : S.Sigmoid(S.Load(pi + i)));
        return output[..input.Length];
    }

    private static double SigmoidDouble(double x) => 1.0 / (1.0 + Math.Exp(-x));

    [Theory]
    [MemberData(nameof(Widths))]
    public void TanhIsAccurateOverTheFloatRange(string width) => CheckSweep(width, tanh: true);

    [Theory]
    [MemberData(nameof(Widths))]
    public void SigmoidIsAccurateOverTheFloatRange(string width) => CheckSweep(width, tanh: false);

    private static void CheckSweep(string width, bool tanh)
    {
        float[] x = Sweep.Value;
        float[] y = Apply(width, tanh, x);
        Check(x, y, tanh, $"{width} {(tanh ? "tanh" : "sigmoid")}");
    }

    private static void Check(float[] x, float[] y, bool tanh, string what)
    {
        Func<double, double> exact = tanh ? Math.Tanh : SigmoidDouble;
        double worst = 0;
        int at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double err = Math.Abs(y[i] - exact(x[i]));
            if (double.IsNaN(exact(x[i])) && float.IsNaN(y[i])) continue;
            if (!(err <= worst))
            {
                worst = err;
                at = i;
                if (double.IsNaN(err)) break;
            }
        }
        Assert.True(worst <= MaxAbsError, $"{what}: max abs error {worst:E3} at x = {x[at]:R} (got {y[at]:R}, exact {exact(x[at]):R})");
    }

    private static readonly float[] Specials =
    [
        0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -float.MaxValue,
        float.Epsilon, -float.Epsilon, 1e-30f, -1e-30f, 100f, -100f, 1e10f, -1e10f,
        float.NaN, BitConverter.Int32BitsToSingle(0x7FC01234), BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00000)),
        // Where exp's clamps (-87, 88) and sigmoid's cut-off (-88) sit, and just past them.
        88.7f, -88.7f, 88f, -88f, 87f, -87f, 88.72284f, -88.72284f, 89f, -89f,
        // Subnormals: the smallest, the largest, and the smallest normal.
        BitConverter.Int32BitsToSingle(0x007FFFFF), -BitConverter.Int32BitsToSingle(0x007FFFFF), 1e-40f, -1e-40f,
        BitConverter.Int32BitsToSingle(0x00800000), -BitConverter.Int32BitsToSingle(0x00800000),
        // Where tanh switches to x (2^-12) and to 1 (10).
        1f / 4096, -1f / 4096, 1f / 4096 * 1.0001f, 10f, -10f, 9.999f, -9.999f,
    ];

    [Theory]
    [MemberData(nameof(Widths))]
    public void SpecialValues(string width) => CheckSpecialValues(width);

    private static void CheckSpecialValues(string width)
    {
        float[] x = Specials;
        float[] t = Apply(width, tanh: true, x);
        float[] s = Apply(width, tanh: false, x);
        Check(x, t, tanh: true, $"{width} tanh (special values)");
        Check(x, s, tanh: false, $"{width} sigmoid (special values)");

        Assert.Equal(BitConverter.SingleToInt32Bits(0f), BitConverter.SingleToInt32Bits(t[0]));
        Assert.Equal(BitConverter.SingleToInt32Bits(-0f), BitConverter.SingleToInt32Bits(t[1]));
        Assert.Equal(0.5f, s[0]);
        Assert.Equal(0.5f, s[1]);
        for (int i = 2; i < 14; i += 2)
        {
            // Saturated arguments give exactly +-1 (tanh) and exactly 1 / near 0 (sigmoid).
            if (Math.Abs(x[i]) >= 10f)
            {
                Assert.Equal(1f, t[i]);
                Assert.Equal(-1f, t[i + 1]);
                Assert.Equal(1f, s[i]);
            }
        }
        Assert.Equal(0f, s[3]);   // sigmoid(-inf)
        Assert.Equal(0f, s[5]);   // sigmoid(-MaxValue)
        Assert.Equal(0f, s[13]);  // sigmoid(-1e10)
        for (int i = 0; i < x.Length; i++)
        {
            if (float.IsNaN(x[i]))
            {
                Assert.True(float.IsNaN(t[i]), $"{width} tanh(NaN) = {t[i]:R}");
                Assert.True(float.IsNaN(s[i]), $"{width} sigmoid(NaN) = {s[i]:R}");
            }
            else if (Math.Abs(x[i]) < 1f / 4096)
            {
                // tanh(x) rounds to x this close to 0 (subnormals included: nothing flushes them), sigmoid to 1/2.
                Assert.Equal(BitConverter.SingleToInt32Bits(x[i]), BitConverter.SingleToInt32Bits(t[i]));
                Assert.Equal(0.5f, s[i]);
            }
            Assert.True(t[i] is >= -1f and <= 1f || float.IsNaN(x[i]), $"{width} tanh({x[i]:R}) = {t[i]:R}");
            Assert.True(s[i] is >= 0f and <= 1f || float.IsNaN(x[i]), $"{width} sigmoid({x[i]:R}) = {s[i]:R}");
        }
    }

    /// <summary>
    /// Every length 0..256 through the elementwise layer (whole vectors, then the tail through a padded
    /// copy), in place and out of place: each value as the whole-vector function gives it, nothing
    /// written past the end.
    /// </summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void EveryLengthThroughTheElementwiseLayer(string width)
    {
        byte[] file = TestModels.Create(RnnCellKind.Gru, 3, 5);
        using var model = RnnModel.Load(file, new RnnOptions { Backend = "reference" });
        using IPreparedRnn prepared = new CpuBackend(CpuTestModels.WidthOf(width)).Prepare(model);
        using RnnState state = prepared.CreateState(1);
        var s = (CpuState)state;
        const float Canary = 12345.5f;
        float[] values = TestModels.Inputs(256, 7, 12f);
        for (int i = 0; i < Specials.Length; i++) values[i * 7 % 256] = Specials[i];
        foreach (LayerKind kind in new[] { LayerKind.Tanh, LayerKind.Sigmoid })
        {
            float[] whole = Apply(width, kind == LayerKind.Tanh, values);
            for (int n = 0; n <= 256; n++)
            {
                float[] x = values[..n], y = new float[n + 32], inPlace = values[..n].Concat(Enumerable.Repeat(Canary, 32)).ToArray();
                y.AsSpan().Fill(Canary);
                fixed (float* px = x, py = y, pp = inPlace)
                {
                    Elementwise(width, s, kind, px, n, py);
                    Elementwise(width, s, kind, pp, n, pp);
                }
                for (int i = 0; i < n; i++)
                {
                    Assert.True(Same(whole[i], y[i]), $"{width} {kind} at length {n}: [{i}] = {y[i]:R}, expected {whole[i]:R}");
                    Assert.True(Same(whole[i], inPlace[i]), $"{width} {kind} in place at length {n}: [{i}] = {inPlace[i]:R}, expected {whole[i]:R}");
                }
                Assert.All(y[n..], v => Assert.Equal(Canary, v));
                Assert.All(inPlace[n..], v => Assert.Equal(Canary, v));
            }
        }
    }

    private static bool Same(float a, float b) => BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b) || (float.IsNaN(a) && float.IsNaN(b));

    /// <summary>The elementwise layer's kernel (<see cref="CpuActivation{S, TV}.Map"/>) for one width and kind.</summary>
    private static void Elementwise(string width, CpuState s, LayerKind kind, float* x, long n, float* y)
    {
        switch (CpuTestModels.WidthOf(width))
        {
            case CpuVectorWidth.Vector128: Map<Simd128, Vector128<float>>(s, kind, x, n, y); break;
            case CpuVectorWidth.Vector256: Map<Simd256, Vector256<float>>(s, kind, x, n, y); break;
            default: Map<Simd512, Vector512<float>>(s, kind, x, n, y); break;
        }
    }

    private static void Map<S, TV>(CpuState s, LayerKind kind, float* x, long n, float* y) where S : ISimd<TV> where TV : struct
    {
        switch (kind)
        {
            case LayerKind.Tanh: CpuActivation<S, TV>.Map<CpuActivation<S, TV>.Tanh>(s, x, n, y); break;
            case LayerKind.Relu: CpuActivation<S, TV>.Map<CpuActivation<S, TV>.Relu>(s, x, n, y); break;
            case LayerKind.Sigmoid: CpuActivation<S, TV>.Map<CpuActivation<S, TV>.Sigmoid>(s, x, n, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "not an activation");
        }
    }

    [Fact]
    public void TheWidthsAgreeLaneForLane()
    {
        float[] x = TestModels.Inputs(4096, 3, 12f);
        foreach (bool tanh in new[] { true, false })
        {
            float[] wide = Apply(CpuBackend.Avx512Name, tanh, x);
            Assert.Equal(wide, Apply(CpuBackend.Avx2Name, tanh, x));
            // Vector128 fuses its multiply-adds only where the JIT has FMA; then it rounds as the wider ones do.
            if (Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported) Assert.Equal(wide, Apply(CpuBackend.Vector128Name, tanh, x));
        }
    }

    /// <summary>
    /// The Vector128 math without FMA (a multiply and an add, one more rounding each): in a child
    /// process with AVX2 switched off, which takes FMA with it; there this test is the sweep itself.
    /// </summary>
    [Fact]
    public Task Vector128WithoutFmaIsAccurate()
    {
        if (IsaChildProcess.Mode is null)
            return IsaChildProcess.RunAsync(typeof(CpuActivationTests), nameof(Vector128WithoutFmaIsAccurate), "no-avx2");
        Assert.Equal("no-avx2", IsaChildProcess.Mode);
        Assert.False(Fma.IsSupported, "DOTNET_EnableAVX2=0 left FMA on: this child would sweep the fused math again");
        Assert.True(Vector128.IsHardwareAccelerated);
        string width = CpuBackend.Vector128Name;
        CheckSweep(width, tanh: true);
        CheckSweep(width, tanh: false);
        CheckSpecialValues(width);
        EveryLengthThroughTheElementwiseLayer(width);
        return Task.CompletedTask;
    }
}
