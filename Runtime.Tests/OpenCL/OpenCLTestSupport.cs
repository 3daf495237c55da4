using RnnRuntime.Backends.OpenCL;
using RnnRuntime.Model;

namespace RnnRuntime.Tests.OpenCL;

/// <summary>
/// What every OpenCL test needs: a skip (or, in CI, a failure) when this machine has no OpenCL
/// device, well-conditioned random models, and the comparison against the reference backend.
/// </summary>
internal static class OpenCLTestSupport
{
    /// <summary>Set to 1 by CI (build.sh under CI=true): a missing OpenCL device fails instead of skipping.</summary>
    public const string RequireVariable = "RNNRT_REQUIRE_OPENCL";

    /// <summary>The parity tolerance the issue fixes: |opencl - reference| per output.</summary>
    public const float Tolerance = 2e-5f;

    public static void RequireDevice()
    {
        string? reason = OpenCLDevices.UnavailableReason;
        if (reason is null) return;
        if (Environment.GetEnvironmentVariable(RequireVariable) == "1")
            Assert.Fail($"{RequireVariable}=1 but OpenCL is not usable here: {reason}");
        Assert.Skip($"OpenCL is not usable on this machine ({reason}); set {RequireVariable}=1 to make this a failure");
    }

    public static RnnOptions OpenCL(string? device = null) => new() { Backend = "opencl", Device = device };

    public static readonly RnnOptions Reference = new() { Backend = "reference" };

    /// <summary>A PyTorch-layout model with weights U(-k, k), k = 1.5/sqrt(H) (DESIGN.md: well-conditioned).</summary>
    public static byte[] RandomModel(RnnCellKind cell, int input, int hidden, int layers = 1, bool bidirectional = false,
        bool bias = true, bool relu = false, int seed = 1)
        => SyntheticModel.Create(cell, input, hidden, layers, bidirectional, bias, relu, seed);

    /// <summary>Largest |a - b|, with the index where it happens.</summary>
    public static (float Diff, int Index) MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        float worst = 0;
        int at = -1;
        for (int i = 0; i < a.Length; i++)
        {
            float d = MathF.Abs(a[i] - b[i]);
            if (!(d <= worst)) { worst = d; at = i; }   // NaN counts as worst
        }
        return (worst, at);
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        (float diff, int at) = MaxAbsDiff(expected, actual);
        Assert.True(diff <= Tolerance,
            $"{what}: |opencl - reference| = {diff} at [{at}] (reference {(at >= 0 ? expected[at] : 0)}, opencl {(at >= 0 ? actual[at] : 0)}) exceeds {Tolerance}");
    }

    /// <summary>
    /// Runs the same random sequence, from the same random initial state, through <paramref name="model"/>
    /// and the reference backend, and compares every output and the final state.
    /// </summary>
    public static void AssertRunMatchesReference(byte[] file, RnnModel model, int batch, int steps, int seed, string what)
    {
        using var reference = RnnModel.Load(file, model.Options with { Backend = "reference", Device = null });
        using RnnSession expected = reference.CreateSession(batch);
        using RnnSession actual = model.CreateSession(batch);
        var rng = new Random(seed);
        float[] h0 = SyntheticModel.Uniform(rng, expected.StateLength, 0.5f);
        float[] xs = SyntheticModel.Uniform(rng, steps * expected.InputLength, 1f);
        expected.SetState(h0);
        actual.SetState(h0);
        var ysExpected = new float[steps * expected.OutputLength];
        var ysActual = new float[ysExpected.Length];
        expected.Run(xs, steps, ysExpected);
        actual.Run(xs, steps, ysActual);
        AssertClose(ysExpected, ysActual, $"{what}: ys");
        var stateExpected = new float[expected.StateLength];
        var stateActual = new float[stateExpected.Length];
        expected.GetState(stateExpected);
        actual.GetState(stateActual);
        AssertClose(stateExpected, stateActual, $"{what}: final state");
    }
}
