using RnnRuntime.Backends;
using RnnRuntime.Memory;
using RnnRuntime.Model;
using RnnRuntime.Tests.Cpu;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>The footprint tests read process-wide counters, so nothing else may allocate meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ModelMemoryCollection
{
    public const string Name = "ModelMemory";
}

/// <summary>
/// A model holds its weights once, in the format it runs: the memory a load leaves behind is at most
/// 1.3x <see cref="RnnModel.WeightBytes"/> on every backend and format, and every accessor reports
/// that format. The footprint is the GC heap after a full collection (the packed matrices are pinned
/// arrays on it) plus the native blocks of the aligned buffer pool, measured around the second load
/// of the same file so that one-time costs (types, JIT, pooled file buffers) are out of it. OpenCL's
/// copy is on the device (for PoCL, in the driver's own allocations, which this does not see), so
/// there the host may keep only the biases and shapes: at most 0.3x.
/// </summary>
[Collection(ModelMemoryCollection.Name)]
public class ModelMemoryTests(ITestOutputHelper output)
{
    /// <summary>The headroom over the weights: biases, the padding of packed panels, the objects around them.</summary>
    private const double MaxOverWeights = 1.3;

    /// <summary>What the host may keep when the weights live on a device.</summary>
    private const double MaxBesideDevice = 0.3;

    public static TheoryData<string, RnnWeightFormat> Cases()
    {
        var data = new TheoryData<string, RnnWeightFormat>();
        foreach (string backend in new[] { "reference" }.Concat(CpuTestModels.Widths))
            foreach (RnnWeightFormat format in Enum.GetValues<RnnWeightFormat>())
                data.Add(backend, format);
        data.Add("opencl", RnnWeightFormat.Float32);   // its kernels compute with float32 only
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AModelHoldsItsWeightsOnceInTheFormatItRuns(string backend, RnnWeightFormat format)
    {
        if (backend == "opencl") OpenCL.OpenCLTestSupport.RequireDevice();
        else if (BackendRegistry.UnavailableReason(backend) is string why) Assert.Skip($"{backend} does not run here: {why}");
        // The case: GRU(1024 -> 1024), 24 MB of float32 weights.
        byte[] file = TestModels.Create(RnnCellKind.Gru, 1024, 1024, seed: 5);
        var options = new RnnOptions { Backend = backend, WeightFormat = format, Threads = 1 };
        using (RnnModel.Load(file, options)) { }
        long before = Footprint();
        using RnnModel model = RnnModel.Load(file, options);
        long held = Footprint() - before;
        output.WriteLine($"{backend} {format}: {held / 1e6:F1} MB held for {model.WeightBytes / 1e6:F1} MB of weights ({(double)held / model.WeightBytes:F2}x)");
        double bound = backend == "opencl" ? MaxBesideDevice : MaxOverWeights;
        Assert.True(held <= bound * model.WeightBytes,
            $"{backend} {format}: loading the model kept {held} bytes for {model.WeightBytes} bytes of weights ({(double)held / model.WeightBytes:F2}x, at most {bound}x)");

        WeightElementType type = format switch
        {
            RnnWeightFormat.BFloat16 => WeightElementType.BFloat16,
            RnnWeightFormat.Int8 => WeightElementType.Int8,
            _ => WeightElementType.Float32,
        };
        LayerWeights w = model.Weights(0, 0);
        Assert.Equal(type, model.Network.WeightType);
        Assert.Equal(type, w.Ih.ElementType);
        Assert.Equal(type, w.Hh.ElementType);
        Assert.All(model.Network.Recurrent, r => Assert.Equal(type, r.Weights(0, 0).Ih.ElementType));
        // The values stay readable only where the backend keeps no packed copy of its own; elsewhere
        // reading them says why, and the biases (float32, small) stay.
        bool packed = backend != "reference";
        Assert.Equal(!packed, w.Ih.HasValues);
        Assert.Equal(3 * 1024, w.BiasIh.Length);
        if (packed)
        {
            var e = Assert.Throws<InvalidOperationException>(() => w.Hh.Value(0, 0));
            Assert.Contains($"the {backend} backend holds these {type} weights", e.Message);
            Assert.Throws<InvalidOperationException>(() => w.Ih.Dot(0, new float[1024]));
        }
        else
            Assert.True(w.Hh.Dot(0, new float[1024]) == 0);
        // And the model still runs on what it kept.
        using RnnSession session = model.CreateSession();
        float[] y = new float[model.OutputSize];
        session.Step(TestModels.Inputs(model.InputSize, 1), y);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
    }

    /// <summary>
    /// Small layers on the latency kernels are held once too (by column; the loader's tensors are
    /// dropped), and a batched session, whose plan puts them on the panel products, gets their
    /// weights back from that copy: the model then holds both layouts of its small layers, and still
    /// computes the same.
    /// </summary>
    [Theory]
    [InlineData("sse")]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void LatencyLayersAreHeldOnce(string backend)
    {
        if (backend == "sse") backend = Backends.Cpu.CpuBackend.Vector128Name;
        if (BackendRegistry.UnavailableReason(backend) is string why) Assert.Skip($"{backend} does not run here: {why}");
        // Eight LSTM layers of 288 KiB each, every one on the latency path.
        byte[] file = new SyntheticNetwork(11).Recurrent("rnn", RnnCellKind.Lstm, 96, 96, layers: 8).Linear("fc", 96, 7).Build();
        var options = new RnnOptions { Backend = backend };
        using (RnnModel.Load(file, options)) { }
        long before = Footprint();
        using RnnModel model = RnnModel.Load(file, options);
        long held = Footprint() - before;
        output.WriteLine($"{backend} latency path: {held / 1e6:F2} MB held for {model.WeightBytes / 1e6:F2} MB of weights ({(double)held / model.WeightBytes:F2}x)");
        Assert.True(held <= MaxOverWeights * model.WeightBytes,
            $"{backend}: loading a latency-path model kept {held} bytes for {model.WeightBytes} bytes of weights ({(double)held / model.WeightBytes:F2}x, at most {MaxOverWeights}x)");
        Assert.False(model.Weights(0, 0).Ih.HasValues);

        const int T = 5, B = Backends.Cpu.Latency.LatencyPath.MaxBatch + 1;
        float[] xs = TestModels.Inputs(T * B * 96, 2);
        float[] batched = new float[T * B * 7];
        using (RnnSession s = model.CreateSession(B)) s.Run(xs, T, batched);
        using var reference = RnnModel.Load(file, new RnnOptions { Backend = "reference" });
        using RnnSession r = reference.CreateSession(B);
        float[] expected = new float[batched.Length];
        r.Run(xs, T, expected);
        Compare.Close(expected, batched, 1e-5, $"{backend}: a batched session on the panels, from the latency copy's weights");
    }

    private static long Footprint()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true) + AlignedBufferPool.NativeBytes;
    }
}
