using System.Diagnostics;
using System.Runtime.CompilerServices;
using RnnRuntime.Backends.OpenCL;
using RnnRuntime.Model;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests.Lifetime;

/// <summary>
/// The lifetime scenarios run in a child process (this test program started again with a marker
/// variable, acted on by a module initializer before xunit starts), so that a crash (an abort in a
/// driver, an access violation) is seen as a crash of the child, not as the end of the test run.
/// The child prints "lifetime-child: key=value" lines and exits 0 only when every outcome was a
/// finished call or ObjectDisposedException.
/// </summary>
internal static class LifetimeChild
{
    public const string ScenarioVariable = "RNNRT_TESTS_LIFETIME_CHILD";
    public const string ResultPrefix = "lifetime-child: ";

#pragma warning disable CA2255 // a test executable: the initializer must run before the xunit entry point
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RunIfChild()
    {
        string? scenario = Environment.GetEnvironmentVariable(ScenarioVariable);
        if (string.IsNullOrEmpty(scenario)) return;
        int code = 0;
        try
        {
            string[] parts = scenario.Split(':');
            switch (parts[0])
            {
                case "threads": Threads(parts[1], int.Parse(parts[2])); break;
                case "undisposed": Undisposed(parts[1], int.Parse(parts[2])); break;
                default: throw new ArgumentException($"unknown scenario {scenario}");
            }
        }
        catch (Exception e)
        {
            Report("crash", e.ToString());
            code = 3;
        }
        Console.Out.Flush();
        Environment.Exit(code);
    }

    public static void Report(string key, string value) => Console.WriteLine(ResultPrefix + key + "=" + value.ReplaceLineEndings(" "));

    private static byte[] Network() => new SyntheticNetwork(7).Linear("fc", 6, 24).Then("tanh")
        .Recurrent("lstm", RnnCellKind.Lstm, 24, 24, layers: 2).Linear("head", 24, 3).Build();

    /// <summary>
    /// Each round: sessions stream on other threads while the main thread disposes the model, or a
    /// session, or a session during GetState, or disposes twice; every call must finish or be refused
    /// with ObjectDisposedException. Afterwards every OpenCL object is released.
    /// </summary>
    private static void Threads(string backend, int rounds)
    {
        byte[] file = Network();
        long openclBefore = OpenCLObjectCount.Live;
        long finished = 0, refused = 0;
        var rng = new Random(1);
        for (int round = 0; round < rounds; round++)
        {
            var model = RnnModel.Load(file, new RnnOptions { Backend = backend });
            var sessions = Enumerable.Range(0, 3).Select(_ => model.CreateSession(2)).ToArray();
            int kind = round % 4;
            using var started = new CountdownEvent(sessions.Length);
            var workers = sessions.Select((s, i) => new Thread(() =>
            {
                float[] x = new float[s.InputLength], y = new float[s.OutputLength];
                float[] xs = new float[8 * s.InputLength], ys = new float[8 * s.OutputLength];
                float[] state = new float[s.StateLength];
                started.Signal();
                for (int call = 0; call < 400; call++)
                {
                    try
                    {
                        switch ((call + i) % 3)
                        {
                            case 0: s.Step(x, y); break;
                            case 1: s.Run(xs, 8, ys); break;
                            default: s.GetState(state); s.SetState(state); break;
                        }
                        Interlocked.Increment(ref finished);
                    }
                    catch (ObjectDisposedException)
                    {
                        Interlocked.Increment(ref refused);
                        return;
                    }
                }
            })).ToArray();
            foreach (Thread t in workers) t.Start();
            started.Wait();
            Thread.Sleep(rng.Next(0, 3));
            switch (kind)
            {
                case 0: model.Dispose(); break;                                   // the model under running sessions
                case 1: sessions[0].Dispose(); sessions[0].Dispose(); break;       // a session under its own running call, twice
                case 2: model.Dispose(); model.Dispose(); sessions[1].Dispose(); break;
                default: foreach (RnnSession s in sessions) s.Dispose(); break;    // every session, mid-call
            }
            foreach (Thread t in workers) t.Join();
            foreach (RnnSession s in sessions) s.Dispose();
            model.Dispose();
            // After everything is disposed, a call is refused, never run on released memory.
            try
            {
                sessions[2].Step(new float[sessions[2].InputLength], new float[sessions[2].OutputLength]);
                throw new InvalidOperationException("a call on a disposed session ran");
            }
            catch (ObjectDisposedException) { }
        }
        Report("calls", $"{finished} finished, {refused} refused");
        Report("opencl-objects", $"{OpenCLObjectCount.Live - openclBefore}");
    }

    /// <summary>Creates sessions and drops them undisposed: the GC must reclaim their native state.</summary>
    private static void Undisposed(string backend, int count)
    {
        using var model = RnnModel.Load(TestModels.Create(RnnCellKind.Gru, 64, 256, seed: 2), new RnnOptions { Backend = backend });
        float[] x = new float[64], y = new float[256];
        long openclBefore = OpenCLObjectCount.Live;
        var watch = Stopwatch.StartNew();
        (long rss0, long rss1) = Drop(model, count, x, y);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Report("rss-growth-mib", $"{(rss1 - rss0) / (1 << 20)}");
        Report("seconds", $"{watch.Elapsed.TotalSeconds:F1}");
        Report("opencl-objects", $"{OpenCLObjectCount.Live - openclBefore}");
    }

    /// <summary>The loop in a method of its own, so no local keeps the last session alive afterwards.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (long Rss0, long Rss1) Drop(RnnModel model, int count, float[] x, float[] y)
    {
        long rss0 = 0;
        for (int i = 0; i < count; i++)
        {
            RnnSession s = model.CreateSession();   // never disposed
            if (i % 100 == 0) s.Step(x, y);         // some of them used, so the scratch a step needs is there too
            if (i == count / 10) rss0 = Environment.WorkingSet;
        }
        return (rss0, Environment.WorkingSet);
    }

    /// <summary>Runs this test program as a child with the scenario; returns its reports.</summary>
    public static Dictionary<string, string> Run(string scenario, int timeoutSeconds = 120)
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(typeof(LifetimeChild).Assembly.Location);
        start.Environment[ScenarioVariable] = scenario;
        using Process child = Process.Start(start) ?? throw new InvalidOperationException($"could not start {host}");
        Task<string> stderr = child.StandardError.ReadToEndAsync();
        Task<string> stdout = child.StandardOutput.ReadToEndAsync();
        if (!child.WaitForExit(timeoutSeconds * 1000))
        {
            child.Kill(entireProcessTree: true);
            Assert.Fail($"the {scenario} child hung (no exit in {timeoutSeconds} s); output so far:\n{stdout.Result}");
        }
        Assert.True(child.ExitCode == 0, $"the {scenario} child exited with {child.ExitCode} (a crash, or a call that neither finished nor was refused):\n{stdout.Result}\n{stderr.Result}");
        var reports = new Dictionary<string, string>();
        foreach (string line in stdout.Result.Split('\n'))
        {
            if (!line.StartsWith(ResultPrefix, StringComparison.Ordinal)) continue;
            int eq = line.IndexOf('=');
            reports[line[ResultPrefix.Length..eq]] = line[(eq + 1)..].TrimEnd('\r');
        }
        return reports;
    }
}
