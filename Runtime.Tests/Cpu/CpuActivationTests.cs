using RnnRuntime.Backends.Cpu;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests.Cpu;

/// <summary>
/// The vectorized tanh and sigmoid of both widths against double precision: a sweep over the whole
/// float range (every 509th bit pattern of each sign, ~8.4M values), a dense linear sweep where the
/// functions bend, and the special values.
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

    private static float[] Apply(string width, bool tanh, float[] input)
    {
        int v = width == "avx2" ? 8 : 16;
        int n = (input.Length + v - 1) / v * v;
        var padded = new float[n];
        input.CopyTo(padded, 0);
        var output = new float[n];
        fixed (float* pi = padded, po = output)
        {
            for (int i = 0; i < n; i += v)
            {
                if (width == "avx2")
                    Simd256.Store(po + i, tanh ? Simd256.Tanh(Simd256.Load(pi + i)) : Simd256.Sigmoid(Simd256.Load(pi + i)));
                else
                    Simd512.Store(po + i, tanh ? Simd512.Tanh(Simd512.Load(pi + i)) : Simd512.Sigmoid(Simd512.Load(pi + i)));
            }
        }
        return output[..input.Length];
    }

    private static double SigmoidDouble(double x) => 1.0 / (1.0 + Math.Exp(-x));

    [Theory]
    [MemberData(nameof(Widths))]
    public void TanhIsAccurateOverTheFloatRange(string width)
    {
        float[] x = Sweep.Value;
        float[] y = Apply(width, tanh: true, x);
        CheckSweep(x, y, Math.Tanh, $"{width} tanh");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void SigmoidIsAccurateOverTheFloatRange(string width)
    {
        float[] x = Sweep.Value;
        float[] y = Apply(width, tanh: false, x);
        CheckSweep(x, y, SigmoidDouble, $"{width} sigmoid");
    }

    private static void CheckSweep(float[] x, float[] y, Func<double, double> exact, string what)
    {
        double worst = 0;
        int at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double err = Math.Abs(y[i] - exact(x[i]));
            if (!(err <= worst))
            {
                worst = err;
                at = i;
                if (double.IsNaN(err)) break;
            }
        }
        Assert.True(worst <= MaxAbsError, $"{what}: max abs error {worst:E3} at x = {x[at]:R} (got {y[at]:R}, exact {exact(x[at]):R})");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void SpecialValues(string width)
    {
        float nanPayload = BitConverter.Int32BitsToSingle(0x7FC01234), negNan = BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00000));
        float[] x = [0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -float.MaxValue,
            float.Epsilon, -float.Epsilon, 1e-30f, -1e-30f, 100f, -100f, 1e10f, -1e10f, float.NaN, nanPayload, negNan];
        float[] t = Apply(width, tanh: true, x);
        float[] s = Apply(width, tanh: false, x);

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
        for (int i = 6; i < 10; i++)
        {
            Assert.Equal(x[i], t[i]);   // tanh(x) rounds to x this close to 0
            Assert.Equal(0.5f, s[i]);
        }
        for (int i = 14; i < x.Length; i++)
        {
            Assert.True(float.IsNaN(t[i]), $"{width} tanh(NaN) = {t[i]:R}");
            Assert.True(float.IsNaN(s[i]), $"{width} sigmoid(NaN) = {s[i]:R}");
        }
    }

    [Fact]
    public void BothWidthsAgreeLaneForLane()
    {
        float[] x = TestModels.Inputs(4096, 3, 12f);
        Assert.Equal(Apply("avx2", true, x), Apply("avx512", true, x));
        Assert.Equal(Apply("avx2", false, x), Apply("avx512", false, x));
    }
}
