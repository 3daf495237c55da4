using RnnRuntime.Bench.Suite;

namespace RnnRuntime.Bench;

/// <summary>
/// Every engine against the reference backend on every scenario of the suite (the same call paths
/// the benchmarks time), without timing anything: prints max |dev| over 100 steps per case.
/// </summary>
internal static class CheckJob
{
    public static int Run(string[] args)
    {
        // "check networks": the network scenarios only; "check 64,256": those hidden sizes, then the networks;
        // "check per-sample": the per-sample networks only (rnnrt, ONNX Runtime, RTNeural). Every run ends with those.
        bool perSampleOnly = args.Length > 0 && args[0] == "per-sample";
        if (perSampleOnly) return PerSample(0, 0);
        bool networksOnly = args.Length > 0 && args[0] == "networks";
        int[] hiddens = networksOnly ? [] : args.Length > 0 ? args[0].Split(',').Select(int.Parse).ToArray() : [64, 256, 1024];
        var engines = Engines.All();
        Console.WriteLine($"engines: {string.Join(", ", engines)}; tolerance {Verifier.Tolerance:E0} over {Verifier.Steps} steps from a zero state");
        if (hiddens.Length > 0) Console.WriteLine($"{"engine",-10} {"cell",-5} {"hidden",6} {"scenario",-9} {"max |dev|",10}");
        int failures = 0, passed = 0;
        foreach (RnnCellKind cell in new[] { RnnCellKind.Rnn, RnnCellKind.Gru, RnnCellKind.Lstm })
        foreach (int hidden in hiddens)
        foreach (var (kind, batch) in new[] { (ScenarioKind.Step, 1), (ScenarioKind.Run, 1), (ScenarioKind.Run, 16) })
        foreach (string engine in engines)
        {
            if (Engines.Skip(engine, hidden)) continue;
            BenchModel m = BenchModel.Get(cell, hidden);
            string result = Verify(() => Engines.Create(engine, m, kind, batch, Verifier.Steps), m, kind, batch, ref passed, ref failures);
            Console.WriteLine($"{engine,-10} {cell.Name(),-5} {hidden,6} {kind + " b" + batch,-9} {result}");
        }
        var networkEngines = Engines.ForNetworks();
        Console.WriteLine($"{"engine",-10} {"network",-18} {"scenario",-9} {"max |dev|",10}");
        foreach (string network in BenchNetwork.All)
        foreach (var (kind, steps) in new[] { (ScenarioKind.Step, 1), (ScenarioKind.Run, NetworkRunBench.Steps) })
        foreach (string engine in networkEngines)
        {
            BenchNetwork n = BenchNetwork.Get(network);
            string result;
            if (Engines.NetworkSkip(engine, network) is string why)
            {
                // Still computed and shown, so the day the peer agrees is visible; not counted.
                try
                {
                    using IEngine e = Engines.CreateNetwork(engine, n, kind, 1, steps);
                    result = $"{Verifier.MaxDeviation(e, n, kind, 1),10:E2}  not timed: {why}";
                }
                catch (Exception ex)
                {
                    result = $"ERROR {ex.GetType().Name}: {ex.Message} (not timed: {why})";
                }
                Console.WriteLine($"{engine,-10} {network,-18} {kind + " b1",-9} {result}");
                continue;
            }
            try
            {
                using IEngine e = Engines.CreateNetwork(engine, n, kind, 1, steps);
                double dev = Verifier.MaxDeviation(e, n, kind, 1);
                bool ok = dev <= Verifier.ToleranceFor(e.Name);
                if (ok) passed++; else failures++;
                result = $"{dev,10:E2}{(ok ? "" : "  MISMATCH")}";
            }
            catch (Exception ex)
            {
                failures++;
                Exception inner = ex;
                while (inner.InnerException is not null) inner = inner.InnerException;
                result = $"ERROR {inner.GetType().Name}: {inner.Message}";
            }
            Console.WriteLine($"{engine,-10} {network,-18} {kind + " b1",-9} {result}");
        }
        return PerSample(passed, failures);
    }

    /// <summary>The per-sample networks on their engines, Step b1 (their only call): then the tally.</summary>
    private static int PerSample(int passed, int failures)
    {
        var engines = Engines.ForPerSample();
        if (RnnRuntime.Bench.Peers.RtNeuralEngine.LibraryDirectory is null)
            Console.WriteLine($"(RTNeural not checked: {RnnRuntime.Bench.Peers.RtNeuralEngine.DirectoryVariable} is not set; ./build.sh bench --peers check per-sample builds and sets it)");
        Console.WriteLine($"{"engine",-20} {"network",-10} {"scenario",-9} {"max |dev|",10}");
        foreach (string network in BenchNetwork.PerSample)
        foreach (string engine in engines)
        {
            BenchNetwork n = BenchNetwork.Get(network);
            string result = Verify(() => Engines.CreateNetwork(engine, n, ScenarioKind.Step, 1, 1), n, ScenarioKind.Step, 1, ref passed, ref failures);
            Console.WriteLine($"{engine,-20} {network,-10} {"Step b1",-9} {result}");
        }
        Console.WriteLine($"check: {passed} passed, {failures} failed");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>One engine against the reference: its max |dev| (or the error it threw), counted as passed or failed.</summary>
    private static string Verify(Func<IEngine> create, IBenchSubject subject, ScenarioKind kind, int batch, ref int passed, ref int failures)
    {
        try
        {
            using IEngine e = create();
            double dev = Verifier.MaxDeviation(e, subject, kind, batch);
            bool ok = dev <= Verifier.ToleranceFor(e.Name);
            if (ok) passed++; else failures++;
            return $"{dev,10:E2}{(ok ? "" : "  MISMATCH")}";
        }
        catch (Exception ex)
        {
            failures++;
            Exception inner = ex;
            while (inner.InnerException is not null) inner = inner.InnerException;
            return $"ERROR {inner.GetType().Name}: {inner.Message}";
        }
    }
}
