using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using RnnRuntime.Backends;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests.Cpu;

/// <summary>The CPU backends in the registry, and one prepared model shared by many threads.</summary>
public class CpuBackendTests
{
    [Fact]
    public void RegistryOffersExactlyTheWidthsThisProcessAccelerates()
    {
        Assert.Contains("avx2", BackendRegistry.Known);
        Assert.Contains("avx512", BackendRegistry.Known);

        bool avx2 = Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated;
        Assert.Equal(avx2, BackendRegistry.Available().Contains("avx2"));
        Assert.Equal(Vector512.IsHardwareAccelerated, BackendRegistry.Available().Contains("avx512"));
        if (!Vector512.IsHardwareAccelerated)
            Assert.Contains("Vector512.IsHardwareAccelerated is false", BackendRegistry.UnavailableReason("avx512"));
        if (!avx2)
            Assert.Contains("IsSupported is false", BackendRegistry.UnavailableReason("avx2"));
    }

    [Theory]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void LoadsByNameWhereAvailableAndExplainsWhereNot(string name)
    {
        byte[] file = TestModels.Create(RnnCellKind.Gru, 5, 9, seed: 2);
        string? reason = BackendRegistry.UnavailableReason(name);
        if (reason is null)
        {
            using var model = RnnModel.Load(file, new RnnOptions { Backend = name });
            Assert.Equal(name, model.Backend);
            using var reference = RnnModel.Load(file, new RnnOptions { Backend = "reference" });
            float[] x = TestModels.Inputs(5, 3), expected = new float[9], actual = new float[9];
            using RnnSession a = reference.CreateSession(), b = model.CreateSession();
            for (int t = 0; t < 5; t++)
            {
                a.Step(x, expected);
                b.Step(x, actual);
            }
            Compare.Close(expected, actual, 1e-5, name);
        }
        else
        {
            var e = Assert.Throws<RnnBackendUnavailableException>(() => RnnModel.Load(file, new RnnOptions { Backend = name }));
            Assert.Contains(reason, e.Message);
        }
    }

    [Theory]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void OnePreparedModelServesManyThreads(string width)
    {
        byte[] file = TestModels.Create(RnnCellKind.Lstm, 24, 40, layers: 2, seed: 6);
        using var model = RnnModel.Load(file, new RnnOptions { Backend = "reference" });
        var backend = new RnnRuntime.Backends.Cpu.CpuBackend(CpuTestModels.WidthOf(width));
        using IPreparedRnn prepared = backend.Prepare(model);
        const int Threads = 4, T = 60, B = 2;
        var inputs = Enumerable.Range(0, Threads).Select(i => TestModels.Inputs(T * B * 24, 100 + i)).ToArray();

        float[] Solo(int i)
        {
            using RnnState s = prepared.CreateState(B);
            var ys = new float[T * B * 40];
            for (int t = 0; t < T; t++) s.Step(inputs[i].AsSpan(t * B * 24, B * 24), ys.AsSpan(t * B * 40, B * 40));
            return ys;
        }

        float[][] alone = Enumerable.Range(0, Threads).Select(Solo).ToArray();
        float[][] together = new float[Threads][];
        using var go = new Barrier(Threads);
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, i =>
        {
            go.SignalAndWait();
            together[i] = Solo(i);
        });
        for (int i = 0; i < Threads; i++) Assert.Equal(alone[i], together[i]);
    }
}
