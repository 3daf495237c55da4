using System.Diagnostics;
using System.Runtime.CompilerServices;
using RnnRuntime.Backends;

namespace RnnRuntime.Tests.OpenCL;

/// <summary>
/// OpenCL that is missing (no ICD loader, no ICD registered, no device) can only be arranged before
/// the process first touches OpenCL: the loader reads its environment once, and the device list is
/// found once per process. So those tests start this test program again as a child with the broken
/// environment and a marker variable. The marker is acted on by a module initializer, before the
/// xunit runner starts: the child runs one scenario, prints what the runtime said, and exits, so it
/// adds no test to any count, and the parent's counts only hold the parent tests that check the output.
/// </summary>
internal static class OpenCLChildProcess
{
    public const string ScenarioVariable = "RNNRT_TESTS_OPENCL_CHILD";
    public const string ResultPrefix = "opencl-child: ";

#pragma warning disable CA2255 // a test executable, not a library: the initializer must run before the xunit entry point
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RunIfChild()
    {
        string? scenario = Environment.GetEnvironmentVariable(ScenarioVariable);
        if (string.IsNullOrEmpty(scenario)) return;
        int code = 0;
        try
        {
            Report("available", string.Join(",", BackendRegistry.Available()));
            Report("auto", BackendRegistry.ResolveAuto());
            Report("reason", BackendRegistry.UnavailableReason("opencl") ?? "(none)");
            byte[] file = OpenCLTestSupport.RandomModel(RnnCellKind.Gru, 3, 4);
            try
            {
                using var model = RnnModel.Load(file, OpenCLTestSupport.OpenCL());
                Report("load", "succeeded on " + model.Backend);
            }
            catch (Exception e)
            {
                Report("load", $"{e.GetType().Name}: {e.Message}");
            }
            using var auto = RnnModel.Load(file, new RnnOptions { Backend = "auto" });
            Report("auto-load", auto.Backend);
        }
        catch (Exception e)
        {
            Report("crash", e.ToString());
            code = 3;
        }
        Console.Out.Flush();
        Environment.Exit(code);
    }

    private static void Report(string key, string value) =>
        Console.WriteLine(ResultPrefix + key + "=" + value.ReplaceLineEndings(" "));

    /// <summary>Runs this test program as a child with <paramref name="environment"/> added; returns its reports.</summary>
    public static Dictionary<string, string> Run(string scenario, IReadOnlyDictionary<string, string> environment)
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        string assembly = typeof(OpenCLChildProcess).Assembly.Location;
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Under `dotnet Runtime.Tests.dll` the host is dotnet and needs the assembly; the apphost needs nothing.
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(assembly);
        start.Environment[ScenarioVariable] = scenario;
        foreach ((string key, string value) in environment) start.Environment[key] = value;

        using Process child = Process.Start(start) ?? throw new InvalidOperationException($"could not start {host}");
        Task<string> stderr = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        if (!child.WaitForExit(60_000))
        {
            child.Kill();
            Assert.Fail($"the {scenario} child did not finish in 60 s; output so far:\n{stdout}");
        }
        Assert.True(child.ExitCode == 0, $"the {scenario} child exited with {child.ExitCode}:\n{stdout}\n{stderr.Result}");
        var reports = new Dictionary<string, string>();
        foreach (string line in stdout.Split('\n'))
        {
            if (!line.StartsWith(ResultPrefix, StringComparison.Ordinal)) continue;
            int eq = line.IndexOf('=');
            reports[line[ResultPrefix.Length..eq]] = line[(eq + 1)..].TrimEnd('\r');
        }
        Assert.True(reports.ContainsKey("auto-load"), $"the {scenario} child did not report:\n{stdout}\n{stderr.Result}");
        return reports;
    }
}
