using System.Runtime.CompilerServices;
using RnnRuntime.Backends;
using RnnRuntime.Backends.Cpu;
using RnnRuntime.Model;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests.Cpu;

/// <summary>
/// RnnOptions.Threads on the CPU backends: every threaded path bit-identical to Threads = 1 of the same
/// width (the products are split by whole panels, each computed by the same call in the same order),
/// with the size threshold lowered to 1 multiply-add so that even tiny matrices split as far as their
/// panels allow; the real threshold on a big model; sessions of one threaded model on several threads;
/// the workers' lifetime; the option's values.
/// </summary>
public class CpuThreadTests
{
    /// <summary>Threads split the panel products; the latency path (small layers) never splits, so these
    /// tests put every layer on the panel path. Latency layers with Threads &gt; 1 are covered in CpuLatencyPathTests.</summary>
    internal const long PanelPathOnly = -1;

    /// <summary>Cells (lstm-proj: an LSTM with proj_size) x awkward hidden sizes.</summary>
    public static TheoryData<string, string, int> CellCases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (string w in CpuTestModels.Widths)
            foreach (string cell in new[] { "rnn", "rnn-relu", "gru", "lstm", "lstm-proj" })
                foreach (int hidden in new[] { 1, 37, 200, 300 })
                    data.Add(w, cell, cell == "lstm-proj" && hidden == 1 ? 2 : hidden);   // 0 < proj_size < hidden
        return data;
    }

    internal static byte[] Model(string cell, int input, int hidden, int layers, bool bidirectional = false, int seed = 5) => TestModels.Create(
        cell switch { "gru" => RnnCellKind.Gru, "lstm" or "lstm-proj" => RnnCellKind.Lstm, _ => RnnCellKind.Rnn },
        input, hidden, layers, bidirectional, relu: cell == "rnn-relu", seed: seed,
        projSize: cell == "lstm-proj" ? Math.Max(1, hidden / 3) : 0);

    [Theory]
    [MemberData(nameof(CellCases))]
    public void StepAndRunEqualOneThread(string width, string cell, int hidden)
    {
        byte[] file = Model(cell, input: 23, hidden, layers: 2, seed: hidden);
        foreach (int batch in new[] { 1, 16 })
            foreach (int threads in new[] { 2, 3 })
            {
                string what = $"{width} {cell} h{hidden} b{batch} threads {threads}";
                long split = AssertSameAsOneThread(file, width, threads, batch, steps: hidden > 100 && batch == 16 ? 3 : 6, what);
                // From hidden 200 on, every cell's W_hh has several group-aligned units: steps split too.
                if (hidden >= 200) Assert.True(split >= 2 * 6, $"{what}: only {split} split calls");
            }
    }

    [Theory]
    [InlineData("avx2", "gru")]
    [InlineData("avx2", "lstm-proj")]
    [InlineData("avx512", "lstm")]
    [InlineData("avx512", "rnn")]
    public void BidirectionalRunEqualsOneThread(string width, string cell)
    {
        byte[] file = Model(cell, input: 19, hidden: 75, layers: 2, bidirectional: true);
        foreach (int batch in new[] { 1, 16 })
            AssertSameAsOneThread(file, width, threads: 2, batch, steps: 9, $"{width} {cell} bidirectional b{batch}");
    }

    /// <summary>Runs longer than one input-projection chunk: the split projection of each chunk, then its steps.</summary>
    [Theory]
    [InlineData("avx2", "lstm", 1)]
    [InlineData("avx2", "gru", 16)]
    [InlineData("avx512", "lstm", 16)]
    [InlineData("avx512", "gru", 1)]
    public void RunAcrossProjectionChunksEqualsOneThread(string width, string cell, int batch)
    {
        byte[] file = Model(cell, input: 40, hidden: 300, layers: 1);
        using var model = RnnModel.Load(file, new RnnOptions { Backend = "reference" });
        using var probe = new CpuRunner(model, width, batch);
        int chunk = probe.ChunkSteps;
        Assert.True(chunk < 600, $"chunk of {chunk} steps");
        AssertSameAsOneThread(file, width, threads: 2, batch, steps: chunk + 3, $"{width} {cell} b{batch} {chunk + 3} steps (chunk {chunk})", stepToo: false);
    }

    [Theory]
    [InlineData("avx2", "odd")]
    [InlineData("avx2", "stack")]
    [InlineData("avx2", "chain")]
    [InlineData("avx2", "wide_bi")]
    [InlineData("avx2", "guitarml")]
    [InlineData("avx512", "chain")]
    [InlineData("avx512", "wide_bi")]
    public void NetworksEqualOneThread(string width, string net)
    {
        SyntheticNetwork n = NetworkParityTests.Network(net);
        byte[] file = n.Build();
        foreach (int batch in new[] { 1, 16 })
            foreach (int threads in new[] { 2, 3 })
                AssertSameAsOneThread(file, width, threads, batch, steps: batch == 1 ? 300 : 20, $"{width} network {net} b{batch} threads {threads}");
    }

    /// <summary>The size threshold as shipped: a model big enough to split at batch 1 does, and still matches.</summary>
    [Theory]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void DefaultThresholdSplitsBigModelsAndMatches(string width)
    {
        byte[] file = Model("gru", input: 64, hidden: 256, layers: 2);
        long split = AssertSameAsOneThread(file, width, threads: 2, batch: 1, steps: 10, $"{width} gru h256", forceSplit: false);
        Assert.True(split >= 2 * 10, $"only {split} split calls in 10 steps of 2 layers");
        using var model = RnnModel.Load(file, new RnnOptions { Backend = "reference", LatencyMaxWeightBytes = PanelPathOnly, Threads = 2 });
        using var runner = new CpuRunner(model, width, 1);
        var s = (CpuState)runner.State;
        Assert.NotNull(s.Workers);
        Assert.Equal(2, s.MaxParts);
        Assert.Equal(CpuWorkSplit.DefaultMinWorkPerPart, s.MinWorkPerPart);
        // W_hh alone (256 x 768 weights) at batch 1: several parts' worth.
        Assert.True(CpuWorkSplit.Work(256L * 768, rows: 1) >= 2 * s.MinWorkPerPart);
    }

    /// <summary>
    /// The default threshold counts reading the weights as well as the multiply-adds: at batch 1 a
    /// part needs 64 K weights, at batch 16 a step of an LSTM at hidden 64 (16 K weights of W_hh, which
    /// measured 1.3x slower split in two) stays whole while one at hidden 256 splits.
    /// </summary>
    [Fact]
    public void DefaultThresholdWeighsBatchAgainstWeights()
    {
        long min = CpuWorkSplit.DefaultMinWorkPerPart;
        Assert.Equal(1, CpuWorkSplit.Parts(2, 8, CpuWorkSplit.Work(2 * 64 * 1024 - 1, rows: 1), min));
        Assert.Equal(2, CpuWorkSplit.Parts(2, 8, CpuWorkSplit.Work(2 * 64 * 1024, rows: 1), min));
        Assert.Equal(1, CpuWorkSplit.Parts(2, 2, CpuWorkSplit.Work(4 * 64 * 64, rows: 16), min));
        Assert.Equal(2, CpuWorkSplit.Parts(2, 8, CpuWorkSplit.Work(4 * 256 * 256, rows: 16), min));
        // Many rows (a sequence's projection) split even a small matrix.
        Assert.Equal(2, CpuWorkSplit.Parts(2, 2, CpuWorkSplit.Work(4 * 64 * 64, rows: 1600), min));
    }

    /// <summary>A model whose every matrix has one panel has nothing to split: no workers at all.</summary>
    [Fact]
    public void SingleGroupModelGetsNoWorkers()
    {
        byte[] file = Model("rnn", input: 8, hidden: 8, layers: 1);
        using var model = RnnModel.Load(file, new RnnOptions { Backend = "reference", LatencyMaxWeightBytes = PanelPathOnly, Threads = 4 });
        using var runner = new CpuRunner(model, CpuBackend.Avx2Name, 1);
        Assert.Null(((CpuState)runner.State).Workers);
    }

    [Fact]
    public void ThreadsValues()
    {
        byte[] file = Model("lstm", input: 13, hidden: 300, layers: 1);
        foreach (int threads in new[] { 0, 1, 2, 64 })
        {
            using var model = RnnModel.Load(file, new RnnOptions { Backend = "reference", LatencyMaxWeightBytes = PanelPathOnly, Threads = threads });
            Assert.Equal(threads == 0 ? Environment.ProcessorCount : threads, model.Threads);
            AssertSameAsOneThread(file, CpuBackend.Avx2Name, threads, batch: 2, steps: 4, $"threads {threads}");
        }
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => RnnModel.Load(file, new RnnOptions { Threads = -1 }));
        Assert.Contains("Threads", e.Message);
    }

    /// <summary>Threads = 64 is honoured up to the panels there are: an LSTM at hidden 300 has 19 (avx2).</summary>
    [Fact]
    public void ManyThreadsAreCappedByPanels()
    {
        byte[] file = Model("lstm", input: 13, hidden: 300, layers: 1);
        using var model = RnnModel.Load(file, new RnnOptions { Backend = "reference", LatencyMaxWeightBytes = PanelPathOnly, Threads = 64 });
        using var runner = new CpuRunner(model, CpuBackend.Avx2Name, 1);
        var s = (CpuState)runner.State;
        Assert.Equal(19, s.MaxParts);
        Assert.Equal(18, s.Workers!.Workers);
    }

    /// <summary>Several sessions of one threaded model, each on its own thread at once, each with its own workers.</summary>
    [Theory]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void SessionsOnSeveralThreadsAtOnce(string width)
    {
        Assert.SkipWhen(BackendRegistry.UnavailableReason(width) is not null, $"{width} is not offered here");
        byte[] file = Model("gru", input: 32, hidden: 256, layers: 2);
        const int T = 40, Sessions = 3;
        using var one = RnnModel.Load(file, new RnnOptions { Backend = width, LatencyMaxWeightBytes = PanelPathOnly, Threads = 1 });
        using var two = RnnModel.Load(file, new RnnOptions { Backend = width, LatencyMaxWeightBytes = PanelPathOnly, Threads = 2 });
        var expected = new float[Sessions][];
        var xs = new float[Sessions][];
        for (int i = 0; i < Sessions; i++)
        {
            using RnnSession s = one.CreateSession(2);
            xs[i] = TestModels.Inputs(T * s.InputLength, 100 + i);
            expected[i] = Stepped(s, xs[i], T);
        }
        var actual = new float[Sessions][];
        var threads = new Thread[Sessions];
        using var start = new Barrier(Sessions);
        for (int i = 0; i < Sessions; i++)
        {
            int k = i;
            threads[i] = new Thread(() =>
            {
                using RnnSession s = two.CreateSession(2);
                ((CpuState)s.State).MinWorkPerPart = 1;
                start.SignalAndWait();
                actual[k] = Stepped(s, xs[k], T);
            });
            threads[i].Start();
        }
        foreach (Thread t in threads) t.Join();
        for (int i = 0; i < Sessions; i++) AssertIdentical(expected[i], actual[i], $"session {i}");
    }

    /// <summary>T steps then a Run of the same inputs from there: every output and the state, concatenated.</summary>
    private static float[] Stepped(RnnSession s, float[] xs, int steps)
    {
        int inLen = s.InputLength, outLen = s.OutputLength;
        var ys = new float[2 * steps * outLen + s.StateLength];
        for (int t = 0; t < steps; t++) s.Step(xs.AsSpan(t * inLen, inLen), ys.AsSpan(t * outLen, outLen));
        s.Run(xs, steps, ys.AsSpan(steps * outLen, steps * outLen));
        s.GetState(ys.AsSpan(2 * steps * outLen));
        return ys;
    }

    [Fact]
    public void DisposeJoinsWorkersWhenIdleAndRightAfterACall()
    {
        byte[] file = Model("lstm", input: 16, hidden: 200, layers: 2);
        using var model = RnnModel.Load(file, new RnnOptions { Backend = "reference", LatencyMaxWeightBytes = PanelPathOnly, Threads = 3 });
        foreach (bool rightAfterCall in new[] { false, true })
        {
            var runner = new CpuRunner(model, CpuBackend.Avx2Name, 1);
            var state = (CpuState)runner.State;
            state.MinWorkPerPart = 1;
            CpuWorkerPool pool = state.Workers!;
            Assert.Equal(2, pool.Workers);
            SpinUntil(() => pool.AliveWorkers == 2, "workers started");
            float[] x = TestModels.Inputs(model.InputSize, 1), y = new float[model.OutputSize];
            runner.Step(x, y);
            if (!rightAfterCall) Thread.Sleep(50);   // past the spin: the workers sleep on their events
            runner.Dispose();
            Assert.Equal(0, pool.AliveWorkers);
        }
    }

    /// <summary>A session nobody disposes is still collected (the pool holds nothing of it between calls), and its finalizer stops the workers.</summary>
    [Fact]
    public void UndisposedSessionIsFinalizedAndItsWorkersStop()
    {
        byte[] file = Model("gru", input: 16, hidden: 200, layers: 1);
        // Through the public session where avx2 runs here; else the prepared model's state, dropped the same way.
        bool viaSession = BackendRegistry.UnavailableReason(CpuBackend.Avx2Name) is null;
        using var model = RnnModel.Load(file, new RnnOptions { Backend = viaSession ? CpuBackend.Avx2Name : "reference", LatencyMaxWeightBytes = PanelPathOnly, Threads = 2 });
        (WeakReference state, CpuWorkerPool pool) = DropSession(model, viaSession);
        SpinUntil(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return !state.IsAlive && pool.AliveWorkers == 0;
        }, "the dropped state finalized and its workers stopped");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference, CpuWorkerPool) DropSession(RnnModel model, bool viaSession)
    {
        RnnState raw = viaSession ? model.CreateSession(1).State : new CpuBackend(CpuVectorWidth.Vector256).Prepare(model).CreateState(1);
        var state = (CpuState)raw;
        state.MinWorkPerPart = 1;
        float[] x = TestModels.Inputs(model.InputSize, 1), y = new float[model.OutputSize];
        state.Step(x, y);
        state.Run(x, 1, y);
        return (new WeakReference(state), state.Workers!);
    }

    private sealed class Throwing : ICpuPartJob
    {
        public int Ran;
        public void RunPart(CpuState s, int part, int parts)
        {
            Interlocked.Increment(ref Ran);
            if (part == parts - 1) throw new InvalidOperationException($"part {part} failed");
        }
    }

    /// <summary>A worker's exception comes out of the caller's call, and the pool keeps working after it.</summary>
    [Fact]
    public void WorkerExceptionIsRethrownOnTheCaller()
    {
        using var pool = new CpuWorkerPool(2);
        var job = new Throwing();
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(null!, job, 3));
        Assert.Equal("part 2 failed", e.Message);
        Assert.Equal(3, job.Ran);
        e = Assert.Throws<InvalidOperationException>(() => pool.Run(null!, job, 2));
        Assert.Equal("part 1 failed", e.Message);
        Assert.Equal(5, job.Ran);
    }

    private sealed class Counting(int calls, int parts) : ICpuPartJob
    {
        public volatile int Call;
        public readonly int[,] Runs = new int[calls, parts];
        public int OnCaller, Caller;
        public void RunPart(CpuState s, int part, int parts)
        {
            Interlocked.Increment(ref Runs[Call, part]);
            if (part > 0 && Environment.CurrentManagedThreadId == Caller) Interlocked.Increment(ref OnCaller);
        }
    }

    /// <summary>
    /// Every part runs exactly once and with the arguments of the call in progress, whether its worker
    /// is spinning or asleep (then the caller, done with part 0, runs it rather than wait 20-60 us for
    /// the wake-up, and the worker that wakes late finds it taken).
    /// </summary>
    [Fact]
    public void EveryPartRunsOnceWhetherWorkersAreAwakeOrAsleep()
    {
        const int calls = 300, parts = 3;
        using var pool = new CpuWorkerPool(parts - 1);
        var job = new Counting(calls, parts) { Caller = Environment.CurrentManagedThreadId };
        for (int c = 0; c < calls; c++)
        {
            // Every third call comes after the workers have gone to sleep (they spin 100 us).
            if (c % 3 == 0) Thread.Sleep(2);
            job.Call = c;
            pool.Run(null!, job, parts);
            for (int p = 0; p < parts; p++) Assert.True(job.Runs[c, p] == 1, $"call {c} ran part {p} {job.Runs[c, p]} times");
        }
        Thread.Sleep(20);   // a late worker would show up as a second run here
        for (int c = 0; c < calls; c++)
            for (int p = 0; p < parts; p++) Assert.Equal(1, job.Runs[c, p]);
        Assert.True(job.OnCaller > 0, "no sleeping worker's part was ever run by the caller");
        Assert.Equal(calls, pool.Dispatches);
    }

    private static void SpinUntil(Func<bool> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"timed out waiting: {what}");
            Thread.Sleep(5);
        }
    }

    /// <summary>
    /// The same inputs through Threads = 1 and Threads = <paramref name="threads"/> of one width (the
    /// threaded state's threshold lowered to split everything unless <paramref name="forceSplit"/> is
    /// false): streaming Steps (unidirectional), then a Run from that state, every output and the final
    /// state bit for bit.
    /// </summary>
    /// <returns>How many calls the threaded state split across its workers.</returns>
    internal static long AssertSameAsOneThread(byte[] file, string width, int threads, int batch, int steps, string what, bool forceSplit = true, bool stepToo = true)
    {
        using var m1 = RnnModel.Load(file, new RnnOptions { Backend = "reference", LatencyMaxWeightBytes = PanelPathOnly, Threads = 1 });
        using var mn = RnnModel.Load(file, new RnnOptions { Backend = "reference", LatencyMaxWeightBytes = PanelPathOnly, Threads = threads });
        using var one = new CpuRunner(m1, width, batch);
        using var many = new CpuRunner(mn, width, batch);
        if (forceSplit) ((CpuState)many.State).MinWorkPerPart = 1;
        int inLen = batch * m1.InputSize, outLen = batch * m1.OutputSize;
        float[] xs = TestModels.Inputs(steps * inLen, steps + batch);
        float[] y1 = new float[steps * outLen], yn = new float[steps * outLen];
        if (stepToo && !m1.IsBidirectional)
        {
            for (int t = 0; t < steps; t++)
            {
                one.Step(xs.AsSpan(t * inLen, inLen), y1.AsSpan(t * outLen, outLen));
                many.Step(xs.AsSpan(t * inLen, inLen), yn.AsSpan(t * outLen, outLen));
            }
            AssertIdentical(y1, yn, $"{what}: Step");
        }
        one.Run(xs, steps, y1);
        many.Run(xs, steps, yn);
        AssertIdentical(y1, yn, $"{what}: Run");
        float[] s1 = new float[one.State.Length], sn = new float[many.State.Length];
        one.State.CopyTo(s1);
        many.State.CopyTo(sn);
        AssertIdentical(s1, sn, $"{what}: state");
        return ((CpuState)many.State).Workers?.Dispatches ?? 0;
    }

    internal static void AssertIdentical(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: [{i}] is {actual[i]:R}, one thread gave {expected[i]:R}");
    }
}
