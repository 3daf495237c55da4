using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests.Cpu;

/// <summary>
/// avx2 and avx512 against the reference backend: random models over awkward sizes, every fixture,
/// long sequences; and streaming Step equal to Run.
/// </summary>
public class CpuParityTests
{
    private const double Tolerance = 1e-5;
    private const double LongTolerance = 1e-4;

    /// <summary>Input and hidden sizes the grid draws from: every size 1..67 plus three around 256.</summary>
    private static readonly int[] Sizes = [.. Enumerable.Range(1, 67), 129, 255, 257];

    public sealed record GridCase(RnnCellKind Cell, int Input, int Hidden, int Layers, bool Bidirectional, bool Bias, bool Relu, int Batch, int Steps, int Seed)
    {
        public override string ToString() =>
            $"{Cell.Name()}{(Relu ? "-relu" : "")} i{Input} h{Hidden} l{Layers}{(Bidirectional ? " bi" : "")}{(Bias ? "" : " no-bias")} b{Batch} t{Steps}";
    }

    /// <summary>
    /// One case per hidden size (so every tail of 8- and 16-float vectors and every panel remainder is
    /// hit), the rest of the shape drawn with a fixed seed. On a CPU without AVX-512 the Vector512
    /// kernels run in software, so their big sizes get fewer layers and steps.
    /// </summary>
    public static IEnumerable<GridCase> Grid(string width)
    {
        var rng = new Random(width == "avx2" ? 20261127 : 512);
        RnnCellKind[] cells = [RnnCellKind.Rnn, RnnCellKind.Gru, RnnCellKind.Lstm];
        int i = 0;
        foreach (int hidden in Sizes)
        {
            RnnCellKind cell = cells[i % 3];
            bool big = hidden > 67;
            bool slow = width == "avx512" && big;
            int input = Sizes[rng.Next(Sizes.Length)];
            int layers = slow ? 1 : 1 + rng.Next(3);
            bool bi = rng.Next(2) == 0;
            bool bias = rng.Next(5) != 0;
            bool relu = cell == RnnCellKind.Rnn && rng.Next(3) == 0;
            int batch = 1 + rng.Next(5);
            int steps = slow ? 2 : 1 + rng.Next(big ? 4 : 12);
            yield return new GridCase(cell, input, hidden, layers, bi, bias, relu, batch, steps, 1000 + i);
            i++;
        }
    }

    public static TheoryData<string, int> GridIndex()
    {
        var data = new TheoryData<string, int>();
        foreach (string w in CpuTestModels.Widths)
            for (int i = 0; i < Sizes.Length; i++) data.Add(w, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(GridIndex))]
    public void RandomModelMatchesReference(string width, int index)
    {
        GridCase g = Grid(width).ElementAt(index);
        byte[] file = TestModels.Create(g.Cell, g.Input, g.Hidden, g.Layers, g.Bidirectional, g.Bias, g.Relu, g.Seed);
        CheckAgainstReference(file, width, g.Batch, g.Steps, g.Seed, Tolerance, g.ToString());
    }

    /// <summary>
    /// LSTMs with a projection (proj_size P): h is P wide, c H wide. Awkward pairs: P = 1, P = H - 1,
    /// P and H on either side of a vector (8 and 16 floats) and of a panel (8 vectors), stacked layers
    /// (layer k &gt; 0 reads D*P), bidirectional, no bias, batches that are not the tile's.
    /// </summary>
    [Theory]
    [InlineData("avx2", 3, 2, 1, 1, false, true, 1)]
    [InlineData("avx2", 13, 37, 11, 2, false, true, 3)]
    [InlineData("avx2", 13, 37, 11, 2, true, true, 3)]
    [InlineData("avx2", 7, 9, 8, 3, false, false, 2)]
    [InlineData("avx2", 16, 17, 16, 2, true, true, 5)]
    [InlineData("avx2", 5, 33, 1, 2, false, true, 4)]
    [InlineData("avx2", 64, 65, 63, 1, false, true, 7)]
    [InlineData("avx2", 1, 129, 65, 2, false, true, 2)]
    [InlineData("avx2", 31, 257, 100, 1, true, false, 1)]
    [InlineData("avx512", 3, 2, 1, 1, false, true, 1)]
    [InlineData("avx512", 13, 37, 11, 2, true, true, 3)]
    [InlineData("avx512", 7, 17, 16, 2, false, false, 5)]
    [InlineData("avx512", 64, 65, 33, 2, false, true, 2)]
    [InlineData("avx512", 20, 129, 127, 1, false, true, 6)]
    public void ProjectedLstmMatchesReference(string width, int input, int hidden, int proj, int layers, bool bidirectional, bool bias, int batch)
    {
        byte[] file = TestModels.Create(RnnCellKind.Lstm, input, hidden, layers, bidirectional, bias, seed: hidden * 31 + proj, projSize: proj);
        CheckAgainstReference(file, width, batch, steps: 7, seed: proj, Tolerance,
            $"lstm i{input} h{hidden} p{proj} l{layers}{(bidirectional ? " bi" : "")}{(bias ? "" : " no-bias")} b{batch}");
    }

    /// <summary>A projected LSTM long enough that Run projects its inputs in several chunks, and 1000 steps.</summary>
    [Theory]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void ProjectedLstmLongSequenceMatchesReference(string width)
    {
        byte[] file = TestModels.Create(RnnCellKind.Lstm, 19, 37, layers: 2, seed: 79, projSize: 13);
        CheckAgainstReference(file, width, batch: 2, steps: 1000, seed: 80, LongTolerance, "lstm h37 p13 1000 steps");
    }

    /// <summary>Sizes up to 1000 on either side: many panels, several depth blocks, odd tails.</summary>
    [Theory]
    [InlineData("avx2", RnnCellKind.Rnn, 1000, 3, 3)]
    [InlineData("avx2", RnnCellKind.Gru, 7, 1000, 2)]
    [InlineData("avx2", RnnCellKind.Lstm, 513, 999, 7)]
    [InlineData("avx512", RnnCellKind.Rnn, 999, 1000, 1)]
    [InlineData("avx512", RnnCellKind.Lstm, 1000, 515, 9)]
    public void LargeSizesMatchReference(string width, RnnCellKind cell, int input, int hidden, int batch)
    {
        byte[] file = TestModels.Create(cell, input, hidden, seed: input + hidden);
        CheckAgainstReference(file, width, batch, steps: 3, seed: 9, Tolerance, $"{cell.Name()} i{input} h{hidden} b{batch}");
    }

    /// <summary>
    /// A sequence long enough that Run projects its inputs in several chunks (the last one short),
    /// forwards and backwards.
    /// </summary>
    [Theory]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void ChunkedInputProjectionMatchesReference(string width)
    {
        byte[] file = TestModels.Create(RnnCellKind.Lstm, 5, 257, bidirectional: true, seed: 21);
        using (var model = RnnModel.Load(file, new RnnOptions { Backend = "reference" }))
        using (var cpu = new CpuRunner(model, width, 2))
        {
            int chunk = cpu.ChunkSteps;
            Assert.True(chunk < 520 && 520 % chunk != 0, $"{width}: {chunk} steps per chunk do not split 520 steps unevenly");
        }
        CheckAgainstReference(file, width, batch: 2, steps: 520, seed: 22, LongTolerance, "lstm h257 bidirectional 520 steps");
    }

    [Theory]
    [InlineData("avx2", RnnCellKind.Rnn)]
    [InlineData("avx2", RnnCellKind.Gru)]
    [InlineData("avx2", RnnCellKind.Lstm)]
    [InlineData("avx512", RnnCellKind.Gru)]
    [InlineData("avx512", RnnCellKind.Lstm)]
    public void ThousandStepsMatchReference(string width, RnnCellKind cell)
    {
        byte[] file = TestModels.Create(cell, 19, 37, layers: 2, seed: 77);
        CheckAgainstReference(file, width, batch: 2, steps: 1000, seed: 78, LongTolerance, $"{cell.Name()} 1000 steps");
    }

    [Theory]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void FixturesMatchReference(string width)
    {
        string[] names = PyTorchFixture.Names.ToArray();
        if (names.Length == 0) Assert.Skip($"no model fixtures in {PyTorchFixture.Folder}");
        int seed = 5;
        foreach (string name in names)
        {
            var f = new PyTorchFixture(name);
            CheckAgainstReference(f.ModelBytes, width, batch: 3, steps: 20, seed: seed++, Tolerance, name, f.Layers, prefix: f.ExpectedPrefix);
        }
    }

    /// <summary>Every PyTorch fixture straight against PyTorch's float32 outputs (Run, and Step where
    /// defined), not only through the reference.</summary>
    [Theory]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void FixturesMatchPyTorch(string width)
    {
        foreach (string name in PyTorchFixture.Names)
        {
            var f = new PyTorchFixture(name);
            using RnnModel model = f.Load("reference");
            using var cpu = new CpuRunner(model, width, f.Batch);
            cpu.State.CopyFrom(f.InitialState);
            var ys = new float[f["y"].Length];
            cpu.Run(f["x"], f.Steps, ys);
            var state = new float[cpu.State.Length];
            cpu.State.CopyTo(state);
            Compare.Close(f["y"], ys, Tolerance, $"{name} on {width}: y vs PyTorch float32");
            Compare.Close(f.FinalState, state, Tolerance, $"{name} on {width}: final state vs PyTorch float32");
            if (model.IsBidirectional) continue;
            cpu.State.CopyFrom(f.InitialState);
            int inLen = f.Batch * model.InputSize, outLen = f.Batch * model.OutputSize;
            for (int t = 0; t < f.Steps; t++) cpu.Step(f["x"].AsSpan(t * inLen, inLen), ys.AsSpan(t * outLen, outLen));
            Compare.Close(f["y"], ys, Tolerance, $"{name} on {width}: stepped y vs PyTorch float32");
        }
    }

    /// <summary>
    /// Runs the model on the reference and on <paramref name="width"/> from the same random initial
    /// state: Run outputs and final state within tolerance; for unidirectional models, streaming the
    /// same sequence step by step gives exactly Run's outputs and state.
    /// </summary>
    internal static void CheckAgainstReference(byte[] file, string width, int batch, int steps, int seed, double tolerance, string what,
        IReadOnlyList<string>? layers = null, RnnWeightFormat format = RnnWeightFormat.Float32, string? prefix = null)
    {
        // Small float32 layers run on the latency kernels by default: check them there, and every layer on the panel products too.
        CheckAgainstReference(file, width, batch, steps, seed, tolerance, what + " (default paths)", layers, format, RnnOptions.Default.LatencyMaxWeightBytes, prefix);
        CheckAgainstReference(file, width, batch, steps, seed, tolerance, what + " (panel path)", layers, format, CpuThreadTests.PanelPathOnly, prefix);
    }

    /// <summary>As above with every float32 layer of at most <paramref name="latencyMaxWeightBytes"/> on the latency kernels.</summary>
    internal static void CheckAgainstReference(byte[] file, string width, int batch, int steps, int seed, double tolerance, string what,
        IReadOnlyList<string>? layers, RnnWeightFormat format, long latencyMaxWeightBytes, string? prefix = null)
    {
        // With a narrow format the reference computes in double on the same quantised weights.
        using var model = RnnModel.Load(file, new RnnOptions { Backend = "reference", Layers = layers, WeightFormat = format, Prefix = prefix, LatencyMaxWeightBytes = latencyMaxWeightBytes });
        using RnnSession reference = model.CreateSession(batch);
        using var cpu = new CpuRunner(model, width, batch);
        int I = model.InputSize, O = model.OutputSize;

        float[] h0 = TestModels.Inputs(reference.StateLength, seed, 0.5f);
        float[] xs = TestModels.Inputs(steps * batch * I, seed + 1);
        reference.SetState(h0);
        cpu.State.CopyFrom(h0);

        var expected = new float[steps * batch * O];
        var actual = new float[expected.Length];
        reference.Run(xs, steps, expected);
        cpu.Run(xs, steps, actual);
        CpuTestModels.AssertClose(expected, actual, tolerance, $"{width} {what}: Run outputs");

        var expectedState = new float[reference.StateLength];
        var actualState = new float[expectedState.Length];
        reference.GetState(expectedState);
        cpu.State.CopyTo(actualState);
        CpuTestModels.AssertClose(expectedState, actualState, tolerance, $"{width} {what}: final state");

        if (model.IsBidirectional) return;
        cpu.State.CopyFrom(h0);
        var streamed = new float[expected.Length];
        int inRow = batch * I, outRow = batch * O;
        for (int t = 0; t < steps; t++)
            cpu.Step(xs.AsSpan(t * inRow, inRow), streamed.AsSpan(t * outRow, outRow));
        Assert.True(actual.AsSpan().SequenceEqual(streamed), $"{width} {what}: streaming Step differs from Run");
        var streamedState = new float[actualState.Length];
        cpu.State.CopyTo(streamedState);
        Assert.True(actualState.AsSpan().SequenceEqual(streamedState), $"{width} {what}: state after streaming Step differs from Run's");
    }
}
