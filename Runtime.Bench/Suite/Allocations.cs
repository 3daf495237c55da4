using System.Collections.Concurrent;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// Managed bytes one timed call allocates on the calling thread, measured exactly in setup (after
/// warm-up calls, so JIT tiers and lazy initialisation are done). BenchmarkDotNet's in-process
/// MemoryDiagnoser counts every thread's allocations (the JIT's background tiering, timers), which
/// shows up as a few stray bytes per op in cases that run one op per iteration; this one does not.
/// </summary>
public static class Allocations
{
    private const int Calls = 8;
    private static readonly ConcurrentDictionary<(string, RnnCellKind, int, ScenarioKind, int), double> Measured = new();

    private static readonly ConcurrentDictionary<(string, string, ScenarioKind), double> MeasuredNetworks = new();

    public static void Measure(string engine, RnnCellKind cell, int hidden, ScenarioKind kind, int batch, IEngine e) =>
        Measured[(engine, cell, hidden, kind, batch)] = PerCall(e);

    /// <summary>The same for a network scenario (batch 1).</summary>
    public static void Measure(string engine, string network, ScenarioKind kind, IEngine e) =>
        MeasuredNetworks[(engine, network, kind)] = PerCall(e);

    public static double? PerCall(CaseInfo c) =>
        Measured.TryGetValue((c.Engine, c.Cell, c.Hidden, c.Kind, c.Batch), out double v) ? v : null;

    public static double? PerCall(string engine, string network, ScenarioKind kind) =>
        MeasuredNetworks.TryGetValue((engine, network, kind), out double v) ? v : null;

    private static double PerCall(IEngine e)
    {
        for (int i = 0; i < 3; i++) e.Invoke();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Calls; i++) e.Invoke();
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        return bytes / (double)Calls;
    }
}
