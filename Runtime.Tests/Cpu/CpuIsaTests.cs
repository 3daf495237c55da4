using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using RnnRuntime.Backends;
using RnnRuntime.Backends.Cpu;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests.Cpu;

/// <summary>
/// Which CPU backend "auto" picks, in this process and in child processes started with the JIT's ISA
/// switches turned off (<see cref="IsaChildProcess"/>). The child re-runs
/// <see cref="AutoPicksTheWidestAcceleratedBackend"/>, which is an ordinary test here too: told by
/// RNNRT_ISA_CHILD which switch its parent set, it first asserts that the switch took effect.
/// </summary>
public class CpuIsaTests
{
    private static string ExpectedAuto() =>
        Vector512.IsHardwareAccelerated ? "avx512"
        : Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated ? "avx2"
        : Vector128.IsHardwareAccelerated ? CpuBackend.Vector128Name
        : "reference";

    [Fact]
    public void AutoPicksTheWidestAcceleratedBackend()
    {
        string? mode = IsaChildProcess.Mode;
        switch (mode)
        {
            case null:
                break;
            case "no-avx2":
                Assert.False(Avx2.IsSupported, "DOTNET_EnableAVX2=0 did not switch AVX2 off");
                Assert.False(Vector256.IsHardwareAccelerated, "DOTNET_EnableAVX2=0 left Vector256 accelerated");
                Assert.False(Vector512.IsHardwareAccelerated);
                break;
            case "no-hwintrinsic":
                Assert.False(Vector128.IsHardwareAccelerated, "DOTNET_EnableHWIntrinsic=0 left Vector128 accelerated");
                Assert.False(Vector256.IsHardwareAccelerated);
                Assert.False(Avx2.IsSupported);
                Assert.False(Fma.IsSupported);
                break;
            case "no-avx512":
                Assert.False(Vector512.IsHardwareAccelerated, "DOTNET_EnableAVX512=0 left Vector512 accelerated");
                Assert.False(Avx512F.IsSupported);
                break;
            default:
                Assert.Fail($"{IsaChildProcess.Variable}={mode} is not a mode this test knows");
                break;
        }

        // A GPU (OpenCL) outranks every CPU backend; otherwise auto is the widest accelerated CPU width.
        string auto = BackendRegistry.ResolveAuto();
        bool gpu = auto == "opencl";
        if (!gpu) Assert.Equal(ExpectedAuto(), auto);
        // Without AVX2 the Vector128 width (sse) is what auto picks; without any hardware intrinsics, the reference.
        if (mode is "no-avx2") Assert.True(auto is CpuBackend.SseName or "opencl", $"auto is {auto} with {mode}");
        if (mode is "no-hwintrinsic") Assert.True(auto is "reference" or "opencl", $"auto is {auto} with {mode}");
        if (mode is "no-avx512") Assert.NotEqual("avx512", auto);

        // Every CPU backend the process cannot accelerate is refused by name, with the reason.
        byte[] file = TestModels.Create(RnnCellKind.Lstm, 13, 29, layers: 2, seed: 8);
        foreach (string name in CpuTestModels.Widths)
        {
            string? reason = BackendRegistry.UnavailableReason(name);
            if (reason is null) continue;
            var e = Assert.Throws<RnnBackendUnavailableException>(() => RnnModel.Load(file, new RnnOptions { Backend = name }));
            Assert.Contains(reason, e.Message);
        }

        // auto computes what the reference computes, and both CPU kernels still do (in software if need be).
        using var reference = RnnModel.Load(file, new RnnOptions { Backend = "reference" });
        const int T = 9, B = 2;
        float[] xs = TestModels.Inputs(T * B * reference.InputSize, 4);
        float[] expected = new float[T * B * reference.OutputSize], actual = new float[expected.Length];
        using (RnnSession s = reference.CreateSession(B)) s.Run(xs, T, expected);
        if (!gpu)
        {
            using var model = RnnModel.Load(file, new RnnOptions { Backend = "auto" });
            Assert.Equal(auto, model.Backend);
            using RnnSession s = model.CreateSession(B);
            s.Run(xs, T, actual);
            Compare.Close(expected, actual, 1e-5, $"auto ({auto}) vs reference");
        }
        // Both widths' kernels, whatever this process accelerates (in a child without AVX-512 this is
        // the Vector512 software fallback; without AVX2, the Vector256 one too): every cell, tails,
        // batches, stacks, both directions, streaming Step equal to Run.
        string what = mode ?? "no switch";
        foreach (string width in CpuTestModels.Widths)
        {
            CpuParityTests.CheckAgainstReference(file, width, B, T, 11, 1e-5, $"lstm ({what})");
            CpuParityTests.CheckAgainstReference(TestModels.Create(RnnCellKind.Rnn, 5, 17, layers: 2, relu: true, seed: 12), width, 3, 6, 13, 1e-5, $"rnn relu ({what})");
            CpuParityTests.CheckAgainstReference(TestModels.Create(RnnCellKind.Gru, 9, 33, bidirectional: true, seed: 14), width, 2, 5, 15, 1e-5, $"gru bidirectional ({what})");
            // Narrow weights: bfloat16 widening, and int8's integer kernel (vpmaddwd with AVX2 / AVX-512BW, its
            // software fallback where the child switched them off; this .NET exposes no AVX-512 VNNI to use).
            byte[] narrow = TestModels.Create(RnnCellKind.Lstm, 21, 40, layers: 2, seed: 18, projSize: 9);
            CpuParityTests.CheckAgainstReference(narrow, width, 3, 6, 19, 1e-5, $"lstm bfloat16 ({what})", format: RnnWeightFormat.BFloat16);
            CpuParityTests.CheckAgainstReference(narrow, width, 3, 6, 19, 1e-4, $"lstm int8 ({what})", format: RnnWeightFormat.Int8);
            CpuParityTests.CheckAgainstReference(TestModels.Create(RnnCellKind.Rnn, 20, 67, layers: 3, bias: false, seed: 16), width, 5, 4, 17, 1e-5, $"rnn no-bias ({what})");
        }
    }

    [Theory]
    [InlineData("no-avx2")]
    [InlineData("no-hwintrinsic")]
    [InlineData("no-avx512")]
    public Task ChildProcessWithIsaSwitchedOffFallsBack(string mode) =>
        IsaChildProcess.RunAsync(typeof(CpuIsaTests), nameof(AutoPicksTheWidestAcceleratedBackend), mode);
}
