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
    {
        var rng = new Random(seed);
        float k = 1.5f / MathF.Sqrt(hidden);
        int rows = cell.GateCount() * hidden, dirs = bidirectional ? 2 : 1;
        var tensors = new List<(string, int[], float[])>();
        for (int layer = 0; layer < layers; layer++)
        {
            int width = layer == 0 ? input : dirs * hidden;
            for (int dir = 0; dir < dirs; dir++)
            {
                string suffix = $"_l{layer}{(dir == 1 ? "_reverse" : "")}";
                tensors.Add(($"weight_ih{suffix}", [rows, width], Uniform(rng, rows * width, k)));
                tensors.Add(($"weight_hh{suffix}", [rows, hidden], Uniform(rng, rows * hidden, k)));
                if (bias)
                {
                    tensors.Add(($"bias_ih{suffix}", [rows], Uniform(rng, rows, k)));
                    tensors.Add(($"bias_hh{suffix}", [rows], Uniform(rng, rows, k)));
                }
            }
        }
        Dictionary<string, string>? metadata = relu ? new() { ["nonlinearity"] = "relu" } : null;
        return SafetensorsWriter.Write(tensors, metadata);
    }

    public static float[] Uniform(Random rng, int count, float k)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(rng.NextDouble() * 2 - 1) * k;
        return values;
    }

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
        using var reference = RnnModel.Load(file, Reference);
        using RnnSession expected = reference.CreateSession(batch);
        using RnnSession actual = model.CreateSession(batch);
        var rng = new Random(seed);
        float[] h0 = Uniform(rng, expected.StateLength, 0.5f);
        float[] xs = Uniform(rng, steps * expected.InputLength, 1f);
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
