using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.RegularExpressions;
using RnnRuntime.Backends;
using RnnRuntime.Backends.Cpu;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests.Cpu;

/// <summary>
/// Which CPU backend "auto" picks, in this process and in child processes started with the JIT's ISA
/// switches turned off (the ImageSharp FeatureTestRunner habit). The child re-runs
/// <see cref="AutoPicksTheWidestAcceleratedBackend"/>, which is an ordinary test here too: told by
/// RNNRT_ISA_CHILD which switch its parent set, it first asserts that the switch took effect.
/// </summary>
public class CpuIsaTests
{
    private const string ChildVariable = "RNNRT_ISA_CHILD";

    private static readonly Dictionary<string, (string Name, string Value)[]> Switches = new()
    {
        ["no-avx2"] = [("DOTNET_EnableAVX2", "0")],
        ["no-hwintrinsic"] = [("DOTNET_EnableHWIntrinsic", "0")],
        // .NET 10 reads DOTNET_EnableAVX512; older runtimes read DOTNET_EnableAVX512F. Set both.
        ["no-avx512"] = [("DOTNET_EnableAVX512", "0"), ("DOTNET_EnableAVX512F", "0")],
    };

    private static string ExpectedAuto() =>
        Vector512.IsHardwareAccelerated ? "avx512"
        : Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated ? "avx2"
        : Vector128.IsHardwareAccelerated ? CpuBackend.Vector128Name
        : "reference";

    [Fact]
    public void AutoPicksTheWidestAcceleratedBackend()
    {
        string? mode = Environment.GetEnvironmentVariable(ChildVariable);
        switch (mode)
        {
            case null or "":
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
                Assert.Fail($"{ChildVariable}={mode} is not a mode this test knows");
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
    public async Task ChildProcessWithIsaSwitchedOffFallsBack(string mode)
    {
        string testDll = typeof(CpuIsaTests).Assembly.Location;
        string host = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Under `dotnet Runtime.Tests.dll` the host needs the dll; the apphost is the test program itself.
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) start.ArgumentList.Add(testDll);
        foreach (string a in new[] { "-method", $"{typeof(CpuIsaTests).FullName}.{nameof(AutoPicksTheWidestAcceleratedBackend)}", "-noColor", "-noLogo" })
            start.ArgumentList.Add(a);
        start.Environment[ChildVariable] = mode;
        foreach ((string name, string value) in Switches[mode]) start.Environment[name] = value;

        using Process child = Process.Start(start) ?? throw new InvalidOperationException($"could not start {host}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        Task<string> stdout = child.StandardOutput.ReadToEndAsync(timeout.Token);
        Task<string> stderr = child.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await child.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            throw;
        }
        string output = await stdout + await stderr;

        // The child must have run exactly one test, and passed it.
        Match m = Regex.Match(output, @"Total: (\d+), Errors: (\d+), Failed: (\d+), Skipped: (\d+)");
        Assert.True(m.Success, $"the {mode} child printed no summary (exit {child.ExitCode}):\n{output}");
        Assert.True(m.Groups[1].Value == "1" && m.Groups[2].Value == "0" && m.Groups[3].Value == "0" && m.Groups[4].Value == "0",
            $"the {mode} child did not run and pass exactly one test:\n{output}");
        Assert.Equal(0, child.ExitCode);
    }
}
