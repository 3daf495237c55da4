using RnnRuntime.Backends;
using RnnRuntime.Model;
using RnnRuntime.Tests.Cpu;
using RnnRuntime.Tests.OpenCL;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>
/// Random networks with awkward widths through every backend against the reference: Run outputs and
/// final state within tolerance; on the CPU backends streaming Step is bit-identical to Run; on
/// OpenCL Step by Step matches the reference too. The PyTorch net_* fixtures are checked by the
/// fixture tests of each backend; these add shapes PyTorch fixtures would make too large.
/// </summary>
public class NetworkParityTests
{
    private const double Tolerance = 1e-5;

    /// <summary>name -> (file, steps): each network exercises a different path.</summary>
    internal static SyntheticNetwork Network(string name) => name switch
    {
        // Odd widths, relu fused into a linear epilogue, a ReLU RNN, sigmoid then the input skip.
        "odd" => new SyntheticNetwork(11).Linear("fc_in", 13, 37).Then("relu").Recurrent("rnn", RnnCellKind.Rnn, 37, 37, relu: true)
            .Linear("fc", 37, 13).Then("sigmoid").Then("add_input"),
        // An activation before any weights, a 3-layer stack (both scratch buffers of a module), a 1-wide head.
        "stack" => new SyntheticNetwork(12).Then("tanh").Recurrent("lstm", RnnCellKind.Lstm, 5, 33, layers: 3).Linear("head", 33, 1),
        // Modules of different sizes back to back, a linear without bias, the skip after a linear.
        "chain" => new SyntheticNetwork(13).Linear("fc_in", 16, 64, bias: false).Recurrent("gru1", RnnCellKind.Gru, 64, 64)
            .Recurrent("gru2", RnnCellKind.Gru, 64, 17).Linear("mid", 17, 17).Then("tanh").Linear("out", 17, 16).Then("add_input"),
        // Wide linear layers (several panels) and a bidirectional module: Run only.
        "wide_bi" => new SyntheticNetwork(14).Linear("fc_in", 3, 300).Then("sigmoid").Recurrent("gru", RnnCellKind.Gru, 300, 41, bidirectional: true)
            .Linear("fc", 82, 2),
        // GuitarML's shape.
        "guitarml" => new SyntheticNetwork(15).Recurrent("lstm", RnnCellKind.Lstm, 1, 40).Linear("lin", 40, 1).Then("add_input"),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (string width in CpuTestModels.Widths)
            foreach (string net in new[] { "odd", "stack", "chain", "wide_bi", "guitarml" })
                foreach (int batch in new[] { 1, 3, 16 })
                    data.Add(width, net, batch);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CpuMatchesReference(string width, string net, int batch)
    {
        byte[] file = Network(net).Build();
        // Long enough at batch 1 to cross a linear layer's 256-row block; shorter for big batches.
        int steps = batch == 1 ? 300 : 40;
        CpuParityTests.CheckAgainstReference(file, width, batch, steps, seed: batch + net.Length, Tolerance, $"network {net} batch {batch}");
    }

    [Theory]
    [InlineData("odd")]
    [InlineData("stack")]
    [InlineData("chain")]
    [InlineData("wide_bi")]
    [InlineData("guitarml")]
    public void OpenCLMatchesReference(string net)
    {
        OpenCLTestSupport.RequireDevice();
        byte[] file = Network(net).Build();
        using var model = RnnModel.Load(file, OpenCLTestSupport.OpenCL());
        foreach (int batch in (int[])[1, 5])
            OpenCLTestSupport.AssertRunMatchesReference(file, model, batch, steps: 30, seed: batch, $"network {net} batch {batch}");
        if (model.IsBidirectional) return;

        // Step by step against the reference's Run.
        using var reference = RnnModel.Load(file, OpenCLTestSupport.Reference);
        using RnnSession expected = reference.CreateSession(2);
        using RnnSession actual = model.CreateSession(2);
        const int T = 12;
        float[] xs = TestModels.Inputs(T * expected.InputLength, 7);
        var ys = new float[T * expected.OutputLength];
        var stepped = new float[ys.Length];
        expected.Run(xs, T, ys);
        int inLen = actual.InputLength, outLen = actual.OutputLength;
        for (int t = 0; t < T; t++) actual.Step(xs.AsSpan(t * inLen, inLen), stepped.AsSpan(t * outLen, outLen));
        OpenCLTestSupport.AssertClose(ys, stepped, $"network {net}: stepped");
    }
}

/// <summary>Networks allocate nothing per Step and Run, on every backend (the CPU widths through their
/// prepared model where the registry does not offer them here).</summary>
[Collection(ZeroAllocationCollection.Name)]
public class NetworkZeroAllocationTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string backend in new[] { "reference", "avx2", "avx512", "opencl" })
            foreach (string net in new[] { "odd", "stack", "chain", "wide_bi" })
                data.Add(backend, net);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StepAndRunAllocateNothing(string backend, string net)
    {
        if (backend == "opencl") OpenCLTestSupport.RequireDevice();
        bool cpu = backend is "avx2" or "avx512";
        bool viaSession = !cpu || BackendRegistry.UnavailableReason(backend) is null;
        using var model = RnnModel.Load(NetworkParityTests.Network(net).Build(), new RnnOptions { Backend = viaSession ? backend : "reference" });
        foreach (int batch in new[] { 1, 3 })
        {
            using RnnSession? session = viaSession ? model.CreateSession(batch) : null;
            using CpuRunner? runner = viaSession ? null : new CpuRunner(model, backend, batch);
            int I = model.InputSize, O = model.OutputSize;
            float[] x = TestModels.Inputs(batch * I, 1), y = new float[batch * O];
            const int T = 9;
            float[] xs = TestModels.Inputs(T * batch * I, 2), ys = new float[T * batch * O];
            void Call()
            {
                if (!model.IsBidirectional)
                {
                    if (session is not null) session.Step(x, y);
                    else runner!.Step(x, y);
                }
                if (session is not null) session.Run(xs, T, ys);
                else runner!.Run(xs, T, ys);
            }
            for (int i = 0; i < 30; i++) Call();
            long[] rounds = new long[3];
            for (int r = 0; r < rounds.Length; r++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 40; i++) Call();
                rounds[r] = GC.GetAllocatedBytesForCurrentThread() - before;
            }
            // A per-call allocation shows in every round; the best of three keeps a one-off of the runtime out.
            Assert.True(rounds.Min() == 0, $"{backend} {net} batch {batch}: bytes per round of 40 Step+Run: {string.Join(", ", rounds)}");
        }
    }
}
