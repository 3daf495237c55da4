using System.Runtime.Intrinsics;
using RnnRuntime.Backends.Cpu;
using RnnRuntime.Backends.Cpu.Latency;
using RnnRuntime.Backends.Cpu.Plan;
using RnnRuntime.Model;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests.Cpu;

/// <summary>
/// The latency kernels (small float32 layers: column-major weights, gate sums in registers): every
/// cell kind, projections, linear layers with each fused activation, at awkward sizes, batch 1 and 3,
/// against the reference within 1e-5, with streaming Step equal to Run bit for bit; and the choice of
/// path itself, on either side of the threshold.
/// </summary>
public class CpuLatencyPathTests
{
    private const double Tolerance = 1e-5;
    private const long Everything = long.MaxValue;

    /// <summary>Hidden and input sizes around every vector width (4, 8, 16) and block of accumulators.</summary>
    private static readonly int[] Sizes = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 40, 63, 64, 65];

    private static readonly string[] Cells = ["rnn", "rnn-relu", "gru", "lstm", "lstm-proj"];

    public static TheoryData<string, string> WidthsAndCells()
    {
        var data = new TheoryData<string, string>();
        foreach (string w in CpuTestModels.Widths)
            foreach (string cell in Cells)
                data.Add(w, cell);
        return data;
    }

    /// <summary>Every size as the hidden size once, with the input size drawn from the same list, one or two layers, batch 1 and 3.</summary>
    [Theory]
    [MemberData(nameof(WidthsAndCells))]
    public void CellsMatchReferenceAtAwkwardSizes(string width, string cell)
    {
        var rng = new Random(cell.Length * 97 + width.Length);
        RnnCellKind kind = cell switch { "gru" => RnnCellKind.Gru, "lstm" or "lstm-proj" => RnnCellKind.Lstm, _ => RnnCellKind.Rnn };
        for (int i = 0; i < Sizes.Length; i++)
        {
            int hidden = Sizes[i], input = Sizes[(i * 7 + 3) % Sizes.Length];
            int proj = cell == "lstm-proj" ? Sizes[rng.Next(Sizes.Length)] % hidden + (hidden == 1 ? 0 : 1) : 0;
            if (proj >= hidden) proj = 0;
            if (cell == "lstm-proj" && proj == 0) continue;   // hidden 1: no projection narrower than h
            int layers = 1 + i % 2;
            bool bias = i % 5 != 4;
            byte[] file = TestModels.Create(kind, input, hidden, layers, bias: bias, relu: cell == "rnn-relu", seed: 300 + i, projSize: proj);
            foreach (int batch in new[] { 1, 3 })
                CpuParityTests.CheckAgainstReference(file, width, batch, steps: 9, seed: i + batch, Tolerance,
                    $"{cell} i{input} h{hidden} p{proj} l{layers}{(bias ? "" : " no-bias")} b{batch} latency", null, RnnWeightFormat.Float32, Everything);
        }
    }

    /// <summary>Bidirectional modules go through Run on the latency kernels too.</summary>
    [Theory]
    [MemberData(nameof(WidthsAndCells))]
    public void BidirectionalMatchesReference(string width, string cell)
    {
        RnnCellKind kind = cell switch { "gru" => RnnCellKind.Gru, "lstm" or "lstm-proj" => RnnCellKind.Lstm, _ => RnnCellKind.Rnn };
        byte[] file = TestModels.Create(kind, 7, 17, layers: 2, bidirectional: true, relu: cell == "rnn-relu", seed: 41, projSize: cell == "lstm-proj" ? 9 : 0);
        CpuParityTests.CheckAgainstReference(file, width, 3, 11, 5, Tolerance, $"{cell} bidirectional latency", null, RnnWeightFormat.Float32, Everything);
    }

    /// <summary>Linear layers at awkward widths, each activation fused into one, elementwise layers that follow no product, add_input.</summary>
    [Theory]
    [InlineData("sse")]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void NetworksWithLinearLayersMatchReference(string width)
    {
        if (width == "sse") width = CpuBackend.Vector128Name;
        int[] widths = [1, 3, 8, 9, 16, 17, 33, 40, 65];
        for (int i = 0; i < widths.Length; i++)
        {
            int a = widths[i], b = widths[(i + 4) % widths.Length], c = widths[(i + 2) % widths.Length];
            string act = (i % 3) switch { 0 => "tanh", 1 => "relu", _ => "sigmoid" };
            var net = new SyntheticNetwork(60 + i)
                .Linear("fc_in", a, b).Then(act)
                .Recurrent("rnn", i % 2 == 0 ? RnnCellKind.Gru : RnnCellKind.Lstm, b, c)
                .Then("tanh")
                .Linear("fc", c, a, bias: i % 4 != 3).Then("sigmoid")
                .Linear("head", a, a)
                .Then("add_input");
            CpuParityTests.CheckAgainstReference(net.Build(), width, 1 + i % 3, steps: 6, seed: i, Tolerance, $"network {a}-{b}-{c} {act} latency",
                null, RnnWeightFormat.Float32, Everything);
        }
    }

    /// <summary>A model just under the bound runs every layer on the latency kernels, one byte over it on the panels.</summary>
    [Theory]
    [InlineData("sse")]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void ThresholdChoosesThePath(string width)
    {
        if (width == "sse") width = CpuBackend.Vector128Name;
        byte[] file = new SyntheticNetwork(5).Recurrent("gru", RnnCellKind.Gru, 16, 64).Linear("fc", 64, 16).Build();
        using var probe = RnnModel.Load(file, new RnnOptions { Backend = "reference" });
        var gru = (RecurrentLayer)probe.Layers[0];
        long cellBytes = LatencyPath.PerCellBytes(gru), linearBytes = ((LinearLayer)probe.Layers[1]).Weight.Bytes;
        Assert.Equal((16 + 64) * 3 * 64 * 4L, cellBytes);
        Assert.True(LatencyPath.DefaultMaxWeightBytes >= cellBytes, "the audio-sized GRU(16, 64) should be on the latency path by default");

        Assert.Equal(["latency", "latency"], Paths(file, width, cellBytes));
        Assert.Equal(["panel", "latency"], Paths(file, width, cellBytes - 1));
        Assert.Equal(["panel", "latency"], Paths(file, width, linearBytes));
        Assert.Equal(["panel", "panel"], Paths(file, width, linearBytes - 1));
        // Up to LatencyPath.MaxBatch rows a session keeps the latency layers; a larger batch runs them on the panels.
        Assert.Equal(["latency", "latency"], Paths(file, width, cellBytes, batch: LatencyPath.MaxBatch));
        Assert.Equal(["panel", "panel"], Paths(file, width, cellBytes, batch: LatencyPath.MaxBatch + 1));
        // Narrow formats always take the panel products (the latency kernel reads float32).
        Assert.Equal(["panel", "panel"], Paths(file, width, Everything, RnnWeightFormat.BFloat16));
        // An activation after a linear layer is fused into it on either path; one after a recurrent module is a pass of its own.
        byte[] fused = new SyntheticNetwork(6).Linear("fc_in", 4, 8).Then("tanh").Recurrent("rnn", RnnCellKind.Lstm, 8, 8).Then("relu").Build();
        Assert.Equal(["latency", "latency", "elementwise"], Paths(fused, width, Everything));
        Assert.Equal(["panel", "panel", "elementwise"], Paths(fused, width, CpuThreadTests.PanelPathOnly));
    }

    /// <summary>Run goes by waves across the layers only where every recurrent layer is on the latency
    /// kernels and the network is unidirectional; a stacked module is one plan entry per layer there.</summary>
    [Theory]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void WavefrontRunOnlyOnLatencyPlans(string width)
    {
        byte[] stacked = new SyntheticNetwork(7).Linear("fc_in", 1, 8).Then("tanh").Recurrent("rnn", RnnCellKind.Gru, 8, 8, layers: 3).Linear("fc", 8, 1).Build();
        byte[] bi = new SyntheticNetwork(8).Recurrent("rnn", RnnCellKind.Gru, 4, 8, layers: 2, bidirectional: true).Linear("fc", 16, 1).Build();
        Assert.True(Wavefront(stacked, width, Everything, out string[] paths));
        Assert.Equal(["latency", "latency", "latency", "latency", "latency"], paths);
        Assert.False(Wavefront(stacked, width, CpuThreadTests.PanelPathOnly, out paths));
        Assert.Equal(["panel", "panel", "panel"], paths);
        Assert.False(Wavefront(bi, width, Everything, out paths));
        Assert.Equal(["latency", "latency", "latency"], paths);
    }

    private static bool Wavefront(byte[] file, string width, long bound, out string[] paths)
    {
        using var model = RnnModel.Load(file, new RnnOptions { Backend = "reference", LatencyMaxWeightBytes = bound });
        using var runner = new CpuRunner(model, width, 1);
        paths = runner.Plan.Select(step => step.Path).ToArray();
        return ((CpuState)runner.State).Wavefront;
    }

    /// <summary>Threads do not split a latency layer (it is too small to share): results stay bit-identical to one thread, and no worker is made.</summary>
    [Theory]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void ThreadsLeaveLatencyLayersOnTheCallingThread(string width)
    {
        byte[] file = TestModels.Create(RnnCellKind.Lstm, 5, 40, layers: 2, seed: 9);
        using var one = RnnModel.Load(file, new RnnOptions { Backend = "reference", LatencyMaxWeightBytes = Everything });
        using var two = RnnModel.Load(file, new RnnOptions { Backend = "reference", LatencyMaxWeightBytes = Everything, Threads = 2 });
        using var a = new CpuRunner(one, width, 2);
        using var b = new CpuRunner(two, width, 2);
        Assert.Null(((CpuState)b.State).Workers);
        float[] xs = TestModels.Inputs(13 * 2 * 5, 3);
        float[] ya = new float[13 * 2 * 40], yb = new float[ya.Length];
        a.Run(xs, 13, ya);
        b.Run(xs, 13, yb);
        Assert.True(ya.AsSpan().SequenceEqual(yb), "Threads = 2 changed a latency layer's results");
    }

    private static string[] Paths(byte[] file, string width, long bound, RnnWeightFormat format = RnnWeightFormat.Float32, int batch = 1)
    {
        using var model = RnnModel.Load(file, new RnnOptions { Backend = "reference", LatencyMaxWeightBytes = bound, WeightFormat = format });
        using var runner = new CpuRunner(model, width, batch);
        return runner.Plan.Select(step => step.Path).ToArray();
    }
}
