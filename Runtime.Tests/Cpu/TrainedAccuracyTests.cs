using System.Globalization;
using System.Text;
using RnnRuntime.Backends;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests.Cpu;

/// <summary>
/// What a narrow weight format costs on networks that learned something (Fixtures/Trained, written by
/// make_fixtures.py: a GRU and a two-layer LSTM trained to predict the next sample of a noisy sum of
/// sines, with 4 held-out sequences of 1000 steps). Per format and CPU width: max and mean
/// |y - y_float32| and the held-out loss relative to float32's, asserted within the issue's bounds
/// (BFloat16 within 1%, Int8 within 5%); float32 itself against PyTorch. Set RNNRT_ACCURACY_TABLE to
/// a path to have the table of BENCHMARKS.md written there.
/// </summary>
public class TrainedAccuracyTests
{
    public static readonly string[] Nets = ["trained_gru_h64", "trained_lstm_h45_l2"];

    /// <summary>The largest task loss a format may have, relative to float32's.</summary>
    public static double Bound(RnnWeightFormat format) => format switch
    {
        RnnWeightFormat.BFloat16 => 1.01,
        RnnWeightFormat.Int8 => 1.05,
        _ => 1.0,
    };

    public static TheoryData<string, string> NetsAndWidths()
    {
        var data = new TheoryData<string, string>();
        foreach (string n in Nets)
            foreach (string w in CpuTestModels.Widths) data.Add(n, w);
        return data;
    }

    public static TheoryData<string, RnnWeightFormat, string> Cases()
    {
        var data = new TheoryData<string, RnnWeightFormat, string>();
        foreach (string n in Nets)
            foreach (RnnWeightFormat f in new[] { RnnWeightFormat.BFloat16, RnnWeightFormat.Int8 })
                foreach (string w in CpuTestModels.Widths) data.Add(n, f, w);
        return data;
    }

    private static PyTorchFixture Fixture(string net) => new(net, PyTorchFixture.TrainedFolder);

    /// <summary>The held-out outputs of <paramref name="net"/> on a CPU width (or "reference") with weights in <paramref name="format"/>.</summary>
    internal static float[] Outputs(PyTorchFixture f, string width, RnnWeightFormat format)
    {
        using RnnModel model = f.Load("reference", format);
        var y = new float[f["y"].Length];
        if (width == "reference")
        {
            using RnnSession s = model.CreateSession(f.Batch);
            s.SetState(f.InitialState);
            s.Run(f["x"], f.Steps, y);
            return y;
        }
        using var cpu = new CpuRunner(model, width, f.Batch);
        cpu.State.CopyFrom(f.InitialState);
        cpu.Run(f["x"], f.Steps, y);
        return y;
    }

    internal static double Mse(ReadOnlySpan<float> y, ReadOnlySpan<float> target)
    {
        double sum = 0;
        for (int i = 0; i < y.Length; i++) sum += ((double)y[i] - target[i]) * ((double)y[i] - target[i]);
        return sum / y.Length;
    }

    private static (double Max, double Mean) Deviation(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double max = 0, sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - b[i]);
            max = Math.Max(max, d);
            sum += d;
        }
        return (max, sum / a.Length);
    }

    /// <summary>Float32 on every width agrees with PyTorch over the 1000 held-out steps, and so does its loss.</summary>
    [Theory]
    [MemberData(nameof(NetsAndWidths))]
    public void Float32MatchesPyTorch(string net, string width)
    {
        PyTorchFixture f = Fixture(net);
        float[] y = Outputs(f, width, RnnWeightFormat.Float32);
        CpuTestModels.AssertClose(f["y"], y, 1e-4, $"{net} on {width}: y vs PyTorch float32");
        double mse = Mse(y, f["target"]), torchMse = double.Parse(f.Metadata["mse"], CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(mse / torchMse - 1) < 1e-4, $"{net} on {width}: MSE {mse:G6}, PyTorch's {torchMse:G6}");
        // The network learned the task: well below predicting x_t itself.
        double baseline = double.Parse(f.Metadata["baseline_mse"], CultureInfo.InvariantCulture);
        Assert.True(mse < 0.5 * baseline, $"{net}: MSE {mse:G4} against the baseline's {baseline:G4}");
    }

    /// <summary>
    /// A narrow format on each width: its loss within the bound of float32's (the margin is in the
    /// message), its outputs within 1e-4 of the reference computing in double on the same quantised
    /// weights over all 1000 steps, and streaming Step bit-identical to Run.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void NarrowLossIsWithinBound(string net, RnnWeightFormat format, string width)
    {
        PyTorchFixture f = Fixture(net);
        float[] y32 = Outputs(f, width, RnnWeightFormat.Float32), y = Outputs(f, width, format);
        double ratio = Mse(y, f["target"]) / Mse(y32, f["target"]);
        Assert.True(ratio <= Bound(format), $"{net} {format} on {width}: loss {ratio:F4}x float32's, bound {Bound(format)}x");
        (double max, _) = Deviation(y, y32);
        Assert.True(max > 0, $"{net} {format} on {width}: identical to float32, so the weights were not narrowed");

        // (Int8: the per-row input quantisation may round an input the kernel and the reference compute
        // 1e-6 apart to neighbouring quanta; see CpuWeightFormatTests.ToleranceFor.)
        CpuTestModels.AssertClose(Outputs(f, "reference", format), y, format == RnnWeightFormat.Int8 ? 5e-4 : 1e-4,
            $"{net} {format} on {width}: y vs the quantised reference");

        using RnnModel model = f.Load("reference", format);
        using var cpu = new CpuRunner(model, width, f.Batch);
        cpu.State.CopyFrom(f.InitialState);
        int inRow = f.Batch * model.InputSize, outRow = f.Batch * model.OutputSize;
        var streamed = new float[y.Length];
        for (int t = 0; t < f.Steps; t++) cpu.Step(f["x"].AsSpan(t * inRow, inRow), streamed.AsSpan(t * outRow, outRow));
        Assert.True(y.AsSpan().SequenceEqual(streamed), $"{net} {format} on {width}: streaming Step differs from Run");
    }

    /// <summary>The table BENCHMARKS.md shows, on the backend auto picks here, written to $RNNRT_ACCURACY_TABLE when set; its bounds asserted.</summary>
    [Fact]
    public void AccuracyTable()
    {
        string width = BackendRegistry.ResolveAuto(RnnOptions.Default) is var auto && CpuTestModels.Widths.Contains(auto) ? auto : "avx2";
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"| network | weights | max abs(y - y_float32) | mean abs(y - y_float32) | held-out MSE | loss vs float32 | bound |");
        table.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (string net in Nets)
        {
            PyTorchFixture f = Fixture(net);
            float[] y32 = Outputs(f, width, RnnWeightFormat.Float32);
            double mse32 = Mse(y32, f["target"]);
            foreach (RnnWeightFormat format in new[] { RnnWeightFormat.Float32, RnnWeightFormat.BFloat16, RnnWeightFormat.Int8 })
            {
                float[] y = format == RnnWeightFormat.Float32 ? y32 : Outputs(f, width, format);
                (double max, double mean) = Deviation(y, y32);
                double mse = Mse(y, f["target"]), ratio = mse / mse32;
                table.AppendLine(CultureInfo.InvariantCulture,
                    $"| {net} | {format} | {max:0.00e+00} | {mean:0.00e+00} | {mse:F5} | {ratio:F4} | {(format == RnnWeightFormat.Float32 ? "" : $"{Bound(format)}")} |");
                Assert.True(ratio <= Bound(format), $"{net} {format}: loss {ratio:F4}x float32's");
            }
        }
        string note = $"{width}, 4 held-out sequences x 1000 steps; baseline (predict x_t): " +
            string.Join(", ", Nets.Select(n => $"{n} {double.Parse(Fixture(n).Metadata["baseline_mse"], CultureInfo.InvariantCulture):F5}"));
        table.AppendLine().AppendLine(note);
        if (Environment.GetEnvironmentVariable("RNNRT_ACCURACY_TABLE") is { Length: > 0 } path) File.WriteAllText(path, table.ToString());
    }
}
