using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests.OpenCL;

/// <summary>opencl against reference within 2e-5 absolute: awkward sizes, every cell, stacks, both directions.</summary>
public sealed class OpenCLParityTests(OpenCLDeviceFixture fixture) : IClassFixture<OpenCLDeviceFixture>
{
    private readonly OpenCLDeviceFixture _fixture = fixture;

    public static TheoryData<RnnCellKind, int, int, int, bool, bool, bool, int, int> RandomCases()
    {
        var data = new TheoryData<RnnCellKind, int, int, int, bool, bool, bool, int, int>();
        int[] sizes = [1, 7, 13, 37, 64, 67, 129];
        int n = 0;
        foreach (RnnCellKind cell in (RnnCellKind[])[RnnCellKind.Rnn, RnnCellKind.Gru, RnnCellKind.Lstm])
        foreach (int layers in (int[])[1, 2])
        foreach (bool bidirectional in (bool[])[false, true])
        foreach (bool bias in (bool[])[true, false])
        {
            // Walk the size list with two different strides so inputs and hiddens pair up differently.
            int input = sizes[n % sizes.Length], hidden = sizes[(3 * n + 2) % sizes.Length];
            int batch = 1 + n % 3, steps = 1 + (5 * n) % 17;
            data.Add(cell, input, hidden, layers, bidirectional, bias, false, batch, steps);
            n++;
        }
        // ReLU RNNs, uni and bi, one and two layers.
        data.Add(RnnCellKind.Rnn, 13, 37, 1, false, true, true, 2, 9);
        data.Add(RnnCellKind.Rnn, 7, 67, 2, true, true, true, 3, 5);
        data.Add(RnnCellKind.Rnn, 64, 7, 2, false, false, true, 1, 12);
        // Every hidden size once per cell at batch 3, and a longer sequence.
        foreach (int hidden in sizes)
            data.Add((RnnCellKind)(hidden % 3 == 0 ? 1 : hidden % 3 == 1 ? 3 : 4), 5, hidden, 1, false, true, false, 3, 4);
        data.Add(RnnCellKind.Lstm, 37, 64, 2, true, true, false, 2, 60);
        // Batches past one step work-group's block of 4 items, with a short last block.
        data.Add(RnnCellKind.Gru, 13, 37, 1, false, true, false, 5, 6);
        data.Add(RnnCellKind.Lstm, 7, 64, 2, true, true, false, 9, 4);
        data.Add(RnnCellKind.Rnn, 1, 129, 1, false, false, true, 6, 5);
        data.Add(RnnCellKind.Gru, 67, 13, 2, true, false, false, 16, 3);
        // The register-blocked input projection (T*B >= 64 rows on a 16-wide tile): exactly one
        // block of rows, and a short last block of rows and of columns.
        data.Add(RnnCellKind.Gru, 13, 37, 1, false, true, false, 1, 64);
        data.Add(RnnCellKind.Rnn, 67, 7, 1, true, true, false, 3, 23);
        data.Add(RnnCellKind.Lstm, 129, 13, 2, false, true, false, 5, 31);
        return data;
    }

    [Theory]
    [MemberData(nameof(RandomCases))]
    public void RandomModelMatchesReference(RnnCellKind cell, int input, int hidden, int layers, bool bidirectional,
        bool bias, bool relu, int batch, int steps)
    {
        OpenCLTestSupport.RequireDevice();
        byte[] file = OpenCLTestSupport.RandomModel(cell, input, hidden, layers, bidirectional, bias, relu, seed: input * 1000 + hidden);
        using var model = RnnModel.Load(file, OpenCLTestSupport.OpenCL());
        Assert.Equal("opencl", model.Backend);
        OpenCLTestSupport.AssertRunMatchesReference(file, model, batch, steps, seed: hidden + steps, model.ToString());
    }

    /// <summary>LSTMs with a projection (proj_size P; h P wide, c H wide): P = 1 and H - 1, padded widths
    /// that differ from H's, stacks (layer k &gt; 0 reads D*P), both directions, batches past a step
    /// work-group's block of 4 with a short last block. Run against reference, and for unidirectional
    /// models streaming Step against reference's Run.</summary>
    [Theory]
    [InlineData(3, 2, 1, 1, false, true, 1, 5)]
    [InlineData(13, 37, 11, 2, false, true, 3, 9)]
    [InlineData(13, 37, 11, 2, true, true, 3, 9)]
    [InlineData(7, 9, 8, 3, false, false, 5, 4)]
    [InlineData(5, 33, 1, 2, true, true, 6, 7)]
    [InlineData(64, 65, 63, 1, false, true, 9, 6)]
    [InlineData(1, 129, 65, 2, false, false, 2, 30)]
    public void ProjectedLstmMatchesReference(int input, int hidden, int proj, int layers, bool bidirectional, bool bias, int batch, int steps)
    {
        OpenCLTestSupport.RequireDevice();
        byte[] file = TestModels.Create(RnnCellKind.Lstm, input, hidden, layers, bidirectional, bias, seed: hidden * 31 + proj, projSize: proj);
        using var model = RnnModel.Load(file, OpenCLTestSupport.OpenCL());
        Assert.Equal("opencl", model.Backend);
        Assert.Equal(proj, model.ProjSize);
        OpenCLTestSupport.AssertRunMatchesReference(file, model, batch, steps, seed: proj + steps, model.ToString());
        if (bidirectional) return;

        using var reference = RnnModel.Load(file, new RnnOptions { Backend = "reference" });
        using RnnSession expected = reference.CreateSession(batch), actual = model.CreateSession(batch);
        float[] h0 = TestModels.Inputs(expected.StateLength, proj, 0.5f), xs = TestModels.Inputs(steps * expected.InputLength, proj + 1);
        expected.SetState(h0);
        actual.SetState(h0);
        var ysExpected = new float[steps * expected.OutputLength];
        var ysActual = new float[ysExpected.Length];
        expected.Run(xs, steps, ysExpected);
        int inRow = expected.InputLength, outRow = expected.OutputLength;
        for (int t = 0; t < steps; t++) actual.Step(xs.AsSpan(t * inRow, inRow), ysActual.AsSpan(t * outRow, outRow));
        OpenCLTestSupport.AssertClose(ysExpected, ysActual, $"{model}: stepped ys");
        var stateExpected = new float[expected.StateLength];
        var stateActual = new float[stateExpected.Length];
        expected.GetState(stateExpected);
        actual.GetState(stateActual);
        OpenCLTestSupport.AssertClose(stateExpected, stateActual, $"{model}: state after stepping");
    }

    /// <summary>Every PyTorch fixture: opencl against PyTorch's own float32 and float64 outputs (Run, and
    /// Step for unidirectional models), and against reference on the fixture's model with batch 1 and 3.</summary>
    [Theory]
    [MemberData(nameof(PyTorchFixture.All), MemberType = typeof(PyTorchFixture))]
    public void FixtureModelMatchesPyTorchAndReference(string name)
    {
        OpenCLTestSupport.RequireDevice();
        var fixture = new PyTorchFixture(name);
        FixtureParity.CheckRun(fixture, "opencl", OpenCLTestSupport.Tolerance);
        using var model = fixture.Load("opencl");
        if (!model.IsBidirectional) FixtureParity.CheckSteps(fixture, "opencl", OpenCLTestSupport.Tolerance);
        foreach (int batch in (int[])[1, 3])
            OpenCLTestSupport.AssertRunMatchesReference(fixture.ModelBytes, model, batch, steps: 25, seed: batch, $"{name} ({model}) batch {batch}");
    }
}
