using System.Diagnostics;
using System.Text.RegularExpressions;

namespace RnnRuntime.Tests.Support;

/// <summary>
/// Re-runs one test method in a child process with some of the JIT's ISA switches turned off (the
/// ImageSharp FeatureTestRunner habit), so that every ISA path is exercised on one machine. The child
/// learns the mode from <see cref="Variable"/> and should assert first that the switch took effect.
/// </summary>
public static class IsaChildProcess
{
    /// <summary>Set in the child to the mode its parent started it with.</summary>
    public const string Variable = "RNNRT_ISA_CHILD";

    /// <summary>The mode this process runs in: null in the parent.</summary>
    public static string? Mode => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } m ? m : null;

    public static readonly IReadOnlyDictionary<string, (string Name, string Value)[]> Switches = new Dictionary<string, (string, string)[]>
    {
        // Off with AVX2 go FMA, BMI and the rest of x86-64-v3: Vector128 then multiplies and adds apart.
        ["no-avx2"] = [("DOTNET_EnableAVX2", "0")],
        ["no-hwintrinsic"] = [("DOTNET_EnableHWIntrinsic", "0")],
        // .NET 10 reads DOTNET_EnableAVX512; older runtimes read DOTNET_EnableAVX512F. Set both.
        ["no-avx512"] = [("DOTNET_EnableAVX512", "0"), ("DOTNET_EnableAVX512F", "0")],
    };

    /// <summary>Runs <paramref name="type"/>.<paramref name="method"/> (a Fact) in a child with <paramref name="mode"/>'s
    /// switches and asserts that it ran exactly one test and passed it.</summary>
    public static async Task RunAsync(Type type, string method, string mode)
    {
        string testDll = type.Assembly.Location;
        string host = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Under `dotnet Runtime.Tests.dll` the host needs the dll; the apphost is the test program itself.
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) start.ArgumentList.Add(testDll);
        foreach (string a in new[] { "-method", $"{type.FullName}.{method}", "-noColor", "-noLogo" })
            start.ArgumentList.Add(a);
        start.Environment[Variable] = mode;
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

        Match m = Regex.Match(output, @"Total: (\d+), Errors: (\d+), Failed: (\d+), Skipped: (\d+)");
        Assert.True(m.Success, $"the {mode} child printed no summary (exit {child.ExitCode}):\n{output}");
        Assert.True(m.Groups[1].Value == "1" && m.Groups[2].Value == "0" && m.Groups[3].Value == "0" && m.Groups[4].Value == "0",
            $"the {mode} child did not run and pass exactly one test:\n{output}");
        Assert.Equal(0, child.ExitCode);
    }
}
