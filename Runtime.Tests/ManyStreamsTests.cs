using System.Runtime.Intrinsics;
using RnnRuntime.Model;
using RnnRuntime.Tests.Cpu;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>
/// Many streams in one session (a batch-B session is B independent slots): per-slot Reset/GetState/SetState,
/// Step and Run over a list of active slots, per-sequence lengths and the batch-first layout, on the
/// reference and every CPU width, latency and panel paths.
/// </summary>
public class ManyStreamsTests
{
    /// <summary>A session of one backend, through the public session (reference) or the CPU width's state
    /// directly (<see cref="CpuRunner"/>: every width runs on any x64 machine).</summary>
    internal sealed class Streams : IDisposable
    {
        private readonly RnnSession? _session;
        private readonly CpuRunner? _runner;

        public Streams(RnnModel model, string backend, int batch)
        {
            if (backend == "reference") _session = model.CreateSession(batch);
            else _runner = new CpuRunner(model, backend, batch);
        }

        public RnnState State => _session?.State ?? _runner!.State;
        public int SlotLength => State.SlotLength;

        public void Step(ReadOnlySpan<int> active, ReadOnlySpan<float> x, Span<float> y)
        {
            if (_session is not null) _session.Step(x, y, active);
            else State.Step(active, x, y);
        }

        public void Step(ReadOnlySpan<float> x, Span<float> y)
        {
            if (_session is not null) _session.Step(x, y);
            else State.Step(x, y);
        }

        public void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys)
        {
            if (_session is not null) _session.Run(xs, steps, ys);
            else State.Run(xs, steps, ys);
        }

        /// <summary>Run over every slot (active empty) or the listed ones, with lengths or not, either layout.</summary>
        public void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys, int[]? active, int[]? lengths, bool batchFirst)
        {
            RnnSequenceLayout layout = batchFirst ? RnnSequenceLayout.BatchFirst : RnnSequenceLayout.TimeMajor;
            if (_session is null)
            {
                State.Run(xs, steps, ys, active is null, active, lengths, batchFirst);
                return;
            }
            if (active is null && lengths is null) _session.Run(xs, steps, ys, layout);
            else if (active is null) _session.Run(xs, steps, ys, lengths, layout);
            else if (lengths is null) _session.RunActive(xs, steps, ys, active, layout);
            else _session.RunActive(xs, steps, ys, active, lengths, layout);
        }

        public void Reset(int slot)
        {
            if (_session is not null) _session.Reset(slot);
            else State.ResetSlot(slot);
        }

        public float[] Get(int slot)
        {
            var s = new float[SlotLength];
            if (_session is not null) _session.GetState(slot, s);
            else State.CopySlotTo(slot, s);
            return s;
        }

        public float[] GetAll()
        {
            var s = new float[State.Length];
            State.CopyTo(s);
            return s;
        }

        public void Set(int slot, ReadOnlySpan<float> s)
        {
            if (_session is not null) _session.SetState(slot, s);
            else State.CopySlotFrom(slot, s);
        }

        public void Dispose()
        {
            _session?.Dispose();
            _runner?.Dispose();
        }
    }

    public static readonly string[] Backends = ["reference", .. CpuTestModels.Widths];
    /// <summary>Every cell kind, and "mixed": two modules (a GRU, then an LSTM with proj_size), so a slot's state spans modules.</summary>
    public static readonly string[] Cells = ["rnn", "rnn-relu", "gru", "lstm", "lstm-proj", "mixed"];

    public static TheoryData<string, string, string> ParityCases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (string b in Backends)
            foreach (string cell in Cells)
                foreach (string path in b == "reference" ? new[] { "latency" } : ["latency", "panel"])
                    data.Add(b, cell, path);
        return data;
    }

    internal static RnnCellKind CellOf(string cell) => cell switch { "gru" => RnnCellKind.Gru, "lstm" or "lstm-proj" => RnnCellKind.Lstm, _ => RnnCellKind.Rnn };

    /// <summary>input 6 -> linear 10 + tanh (fused) -> 2-layer recurrent module -> relu (a pass of its own)
    /// -> linear 6 -> add_input: every kind of layer step.</summary>
    internal static byte[] Network(string cell, int seed, bool bidirectional = false, int hidden = 12)
    {
        if (cell == "mixed")
            return new SyntheticNetwork(seed).Linear("fc_in", 6, 10).Then("tanh")
                .Recurrent("gru", RnnCellKind.Gru, 10, hidden, bidirectional: bidirectional)
                .Recurrent("lstm", RnnCellKind.Lstm, bidirectional ? 2 * hidden : hidden, 8, layers: 2, projSize: 5)
                .Linear("fc_out", 5, 6).Then("add_input").Build();
        int proj = cell == "lstm-proj" ? 5 : 0;
        int width = (bidirectional ? 2 : 1) * (proj > 0 ? proj : hidden);
        return new SyntheticNetwork(seed).Linear("fc_in", 6, 10).Then("tanh")
            .Recurrent("rec", CellOf(cell), 10, hidden, layers: 2, bidirectional: bidirectional, relu: cell == "rnn-relu", projSize: proj)
            .Then("relu").Linear("fc_out", width, 6).Then("add_input").Build();
    }

    internal static RnnModel Load(byte[] file, string path, RnnWeightFormat format = RnnWeightFormat.Float32, int threads = 1) =>
        RnnModel.Load(file, new RnnOptions
        {
            Backend = "reference",
            LatencyMaxWeightBytes = path == "panel" ? CpuThreadTests.PanelPathOnly : RnnOptions.Default.LatencyMaxWeightBytes,
            WeightFormat = format,
            Threads = threads,
        });

    private static float[] RandomState(Random rng, int n)
    {
        var s = new float[n];
        for (int i = 0; i < n; i++) s[i] = (float)(rng.NextDouble() - 0.5);
        return s;
    }

    private static int[] Shuffled(Random rng, List<int> slots, int count)
    {
        int[] a = [.. slots];
        rng.Shuffle(a);
        return a[..count];
    }

    private static void AssertBits(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: [{i}] expected {expected[i]:R}, got {actual[i]:R} (not bit-identical)");
    }

    /// <summary>
    /// A random schedule over 64 slots and 500 ticks (fewer where Vector512 runs in software): streams join by
    /// Reset or SetState, leave, are reset or set mid-stream, and each tick steps a random subset in random
    /// order. Every slot's outputs and state are bit-identical to stepping it alone (active = [s]) in a second
    /// session, and within 1e-5 of a batch-1 session fed the same frames; slots not listed keep their state
    /// bit for bit.
    /// </summary>
    [Theory]
    [MemberData(nameof(ParityCases))]
    public void RandomScheduleMatchesEachSlotAlone(string backend, string cell, string path)
    {
        bool slow = backend == "avx512" && !Vector512.IsHardwareAccelerated;
        int B = slow ? 16 : 64, ticks = slow ? 120 : 500;
        using RnnModel model = Load(Network(cell, seed: 11), path);
        RunSchedule(model, backend, B, ticks, seed: cell.Length * 31 + path.Length, $"{backend} {cell} {path}");
    }

    /// <summary>The same on the panel path with bfloat16 and int8 weights (int8 quantises each row on its own)
    /// and with two threads splitting every product.</summary>
    [Theory]
    [InlineData("avx2", "gru", RnnWeightFormat.BFloat16, 1)]
    [InlineData("avx2", "lstm-proj", RnnWeightFormat.Int8, 1)]
    [InlineData("avx512", "lstm", RnnWeightFormat.Int8, 1)]
    [InlineData("avx512", "gru", RnnWeightFormat.Float32, 2)]
    [InlineData("avx2", "lstm-proj", RnnWeightFormat.Float32, 2)]
    public void RandomScheduleNarrowAndThreaded(string backend, string cell, RnnWeightFormat format, int threads)
    {
        bool slow = backend == "avx512" && !Vector512.IsHardwareAccelerated;
        using RnnModel model = Load(Network(cell, seed: 12, hidden: threads > 1 ? 140 : 12), "panel", format, threads);
        RunSchedule(model, backend, slow ? 16 : 32, slow ? 60 : 200, seed: 5, $"{backend} {cell} {format} threads {threads}",
            tolerance: format == RnnWeightFormat.Int8 ? 1e-4 : 1e-5, split: threads > 1);
    }

    /// <summary>
    /// The panel path's tiles by row count: 1 row, 2 rows, blocks of 6 (3..12 rows), with the next strip
    /// prefetched (13 and more), and an input 600 deep so that the many-row product blocks the depth (512):
    /// every k from 1 to 20 gives each row the bits that row gets alone, float32, bfloat16 and int8.
    /// </summary>
    [Theory]
    [InlineData("sse", RnnWeightFormat.Float32)]
    [InlineData("avx2", RnnWeightFormat.Float32)]
    [InlineData("avx512", RnnWeightFormat.Float32)]
    [InlineData("avx2", RnnWeightFormat.BFloat16)]
    [InlineData("avx512", RnnWeightFormat.BFloat16)]
    [InlineData("avx2", RnnWeightFormat.Int8)]
    [InlineData("avx512", RnnWeightFormat.Int8)]
    public void PanelRowCountDoesNotChangeARowsBits(string backend, RnnWeightFormat format)
    {
        if (backend == "sse") backend = CpuTestModels.Widths[0];
        byte[] file = new SyntheticNetwork(41).Recurrent("lstm", RnnCellKind.Lstm, 600, 40, projSize: 17).Linear("fc", 17, 600).Build();
        using RnnModel model = Load(file, "panel", format);
        const int B = 20;
        int I = model.InputSize, O = model.OutputSize;
        using var many = new Streams(model, backend, B);
        using var alone = new Streams(model, backend, B);
        var rng = new Random(42);
        for (int s = 0; s < B; s++)
        {
            float[] st = RandomState(rng, many.SlotLength);
            many.Set(s, st);
            alone.Set(s, st);
        }
        var yAlone = new float[O];
        for (int k = 1; k <= B; k++)
        {
            int[] active = Shuffled(rng, [.. Enumerable.Range(0, B)], k);
            float[] x = TestModels.Inputs(k * I, 1000 + k);
            var y = new float[k * O];
            many.Step(active, x, y);
            for (int j = 0; j < k; j++)
            {
                alone.Step([active[j]], x.AsSpan(j * I, I), yAlone);
                AssertBits(yAlone, y.AsSpan(j * O, O), $"{backend} {format}: {k} rows, row {j} (slot {active[j]})");
            }
        }
        for (int s = 0; s < B; s++) AssertBits(alone.Get(s), many.Get(s), $"{backend} {format}: state of slot {s}");
    }

    private static void RunSchedule(RnnModel model, string backend, int B, int ticks, int seed, string what, double tolerance = 1e-5, bool split = false)
    {
        using var mixed = new Streams(model, backend, B);
        using var alone = new Streams(model, backend, B);
        if (split) ((Backends.Cpu.CpuState)mixed.State).MinWorkPerPart = 1;
        long dispatches = split ? ((Backends.Cpu.CpuState)mixed.State).Workers!.Dispatches : 0;
        var single = new Streams[B];
        for (int s = 0; s < B; s++) single[s] = new Streams(model, backend, 1);
        try
        {
            int I = model.InputSize, O = model.OutputSize, n = mixed.SlotLength;
            var rng = new Random(seed);
            var joined = new List<int>();
            var ySingle = new float[O];
            var yAlone = new float[O];

            void Join(int s)
            {
                if (rng.Next(2) == 0)
                {
                    mixed.Reset(s);
                    alone.Reset(s);
                    single[s].Reset(0);
                }
                else
                {
                    float[] st = RandomState(rng, n);
                    mixed.Set(s, st);
                    alone.Set(s, st);
                    single[s].Set(0, st);
                }
            }

            for (int s = 0; s < B; s++) if (rng.Next(2) == 0) { joined.Add(s); Join(s); }
            for (int tick = 0; tick < ticks; tick++)
            {
                // Leaves and joins.
                for (int s = 0; s < B; s++)
                {
                    if (rng.Next(40) != 0) continue;
                    if (joined.Remove(s)) continue;
                    joined.Add(s);
                    Join(s);
                }
                // A reset or a new state in the middle of a stream.
                if (joined.Count > 0 && rng.Next(10) == 0) Join(joined[rng.Next(joined.Count)]);
                if (joined.Count == 0) continue;

                int k = rng.Next(4) == 0 ? joined.Count : 1 + rng.Next(joined.Count);
                int[] active = Shuffled(rng, joined, k);
                float[] x = TestModels.Inputs(k * I, seed * 100_000 + tick);
                var y = new float[k * O];
                bool check = tick % 50 == 0;
                float[] before = check ? mixed.GetAll() : [];
                mixed.Step(active, x, y);
                if (check)
                {
                    float[] after = mixed.GetAll();
                    // Every slot not listed, before and after, read through a probe state of the same batch.
                    var slotBefore = new float[n];
                    var slotAfter = new float[n];
                    using var probe = new Streams(model, backend, B);
                    for (int s = 0; s < B; s++)
                    {
                        if (Array.IndexOf(active, s) >= 0) continue;
                        probe.State.CopyFrom(before);
                        probe.State.CopySlotTo(s, slotBefore);
                        probe.State.CopyFrom(after);
                        probe.State.CopySlotTo(s, slotAfter);
                        AssertBits(slotBefore, slotAfter, $"{what} tick {tick}: slot {s} (not active) changed");
                    }
                }
                for (int j = 0; j < k; j++)
                {
                    int s = active[j];
                    ReadOnlySpan<float> xj = x.AsSpan(j * I, I);
                    alone.Step([s], xj, yAlone);
                    single[s].Step(xj, ySingle);
                    AssertBits(yAlone, y.AsSpan(j * O, O), $"{what} tick {tick} slot {s} (row {j} of {k}) vs alone");
                    CpuTestModels.AssertClose(ySingle, y.AsSpan(j * O, O), tolerance, $"{what} tick {tick} slot {s} vs batch 1");
                }
            }
            if (split) Assert.True(((Backends.Cpu.CpuState)mixed.State).Workers!.Dispatches > dispatches, $"{what}: nothing was split");
            for (int s = 0; s < B; s++)
            {
                float[] m = mixed.Get(s);
                AssertBits(alone.Get(s), m, $"{what} final state of slot {s} vs alone");
                CpuTestModels.AssertClose(single[s].Get(0), m, tolerance, $"{what} final state of slot {s} vs batch 1");
            }
        }
        finally
        {
            foreach (Streams s in single) s?.Dispose();
        }
    }

    /// <summary>
    /// Run over a list of active slots (time-major and batch-first), and Run with lengths: each slot's
    /// outputs and final state bit-identical to running its sequence alone, within 1e-5 of a batch-1 session;
    /// outputs past a sequence's end zero; slots not listed untouched. Unidirectional and bidirectional.
    /// </summary>
    [Theory]
    [MemberData(nameof(ParityCases))]
    public void RunWithActiveLengthsAndLayoutMatchesEachSequenceAlone(string backend, string cell, string path)
    {
        foreach (bool bidirectional in new[] { false, true })
        {
            using RnnModel model = Load(Network(cell, seed: 13, bidirectional), path);
            CheckRuns(model, backend, $"{backend} {cell} {path}{(bidirectional ? " bidirectional" : "")}", split: false);
        }
    }

    /// <summary>The same with two threads splitting every product of the panel path (a packed run's steps
    /// over fewer rows go through the workers too), bfloat16 and int8 weights.</summary>
    [Theory]
    [InlineData("avx2", "lstm-proj", RnnWeightFormat.Float32, 2)]
    [InlineData("avx512", "gru", RnnWeightFormat.Float32, 2)]
    [InlineData("avx512", "mixed", RnnWeightFormat.BFloat16, 1)]
    [InlineData("avx2", "rnn", RnnWeightFormat.Int8, 1)]
    public void RunWithActiveLengthsAndLayoutThreadedAndNarrow(string backend, string cell, RnnWeightFormat format, int threads)
    {
        foreach (bool bidirectional in new[] { false, true })
        {
            // Hidden 140: several panels even for an RNN, so two threads have something to split.
            using RnnModel model = Load(Network(cell, seed: 14, bidirectional, hidden: threads > 1 ? 140 : 12), "panel", format, threads);
            CheckRuns(model, backend, $"{backend} {cell} {format} threads {threads}{(bidirectional ? " bidirectional" : "")}", split: threads > 1,
                tolerance: format == RnnWeightFormat.Int8 ? 1e-4 : 1e-5);
        }
    }

    private static void CheckRuns(RnnModel model, string backend, string name, bool split, double tolerance = 1e-5)
    {
        {
            const int B = 7, T = 9;
            int I = model.InputSize, O = model.OutputSize;
            var rng = new Random(17);
            using var session = new Streams(model, backend, B);
            if (split) ((Backends.Cpu.CpuState)session.State).MinWorkPerPart = 1;
            long dispatches = split ? ((Backends.Cpu.CpuState)session.State).Workers!.Dispatches : 0;
            float[][] initial = new float[B][];
            for (int s = 0; s < B; s++)
            {
                initial[s] = RandomState(rng, session.SlotLength);
                session.Set(s, initial[s]);
            }
            // Each case: the slots listed (null: all), lengths (null: all T), layout.
            var cases = new (int[]? Active, int[]? Lengths, bool BatchFirst)[]
            {
                (null, [3, 9, 1, 5, 9, 2, 7], false),
                (null, [3, 9, 1, 5, 9, 2, 7], true),
                (null, [9, 9, 7, 5, 3, 2, 1], false),   // already longest first: run in place
                (null, [9, 9, 9, 9, 9, 9, 9], false),
                (null, [1, 1, 1, 1, 1, 1, 1], false),
                (null, null, true),
                ([4, 1, 6], null, false),
                ([5, 0], null, true),
                ([6, 2, 3, 0], [2, 9, 1, 4], false),
                ([3], [6], true),
            };
            foreach ((int[]? active, int[]? lengths, bool batchFirst) in cases)
            {
                string what = $"{name} active [{string.Join(",", active ?? [])}] lengths [{string.Join(",", lengths ?? [])}]{(batchFirst ? " batch-first" : "")}";
                int[] slots = active ?? [.. Enumerable.Range(0, B)];
                int k = slots.Length;
                float[] xs = TestModels.Inputs(T * k * I, rng.Next());
                var ys = new float[T * k * O];
                float[][] before = [.. Enumerable.Range(0, B).Select(session.Get)];
                session.Run(xs, T, ys, active, lengths, batchFirst);
                for (int s = 0; s < B; s++)
                    if (Array.IndexOf(slots, s) < 0) AssertBits(before[s], session.Get(s), $"{what}: slot {s} (not listed) changed");
                for (int j = 0; j < k; j++)
                {
                    int s = slots[j], length = lengths?[j] ?? T;
                    var xj = new float[length * I];
                    for (int t = 0; t < length; t++)
                        xs.AsSpan(batchFirst ? (j * T + t) * I : (t * k + j) * I, I).CopyTo(xj.AsSpan(t * I));
                    var yAlone = new float[length * O];
                    var ySingle = new float[length * O];
                    using (var alone = new Streams(model, backend, B))
                    {
                        alone.Set(s, before[s]);
                        alone.Run(xj, length, yAlone, [s], null, false);
                        AssertBits(alone.Get(s), session.Get(s), $"{what}: final state of slot {s} vs alone");
                    }
                    using (var single = new Streams(model, backend, 1))
                    {
                        single.Set(0, before[s]);
                        single.Run(xj, length, ySingle);
                        CpuTestModels.AssertClose(single.Get(0), session.Get(s), tolerance, $"{what}: final state of slot {s} vs batch 1");
                    }
                    for (int t = 0; t < T; t++)
                    {
                        Span<float> row = ys.AsSpan(batchFirst ? (j * T + t) * O : (t * k + j) * O, O);
                        if (t >= length)
                        {
                            Assert.True(row.IndexOfAnyExcept(0f) < 0, $"{what}: slot {s} step {t} is past its end but not zero");
                            continue;
                        }
                        AssertBits(yAlone.AsSpan(t * O, O), row, $"{what}: slot {s} step {t} vs alone");
                        CpuTestModels.AssertClose(ySingle.AsSpan(t * O, O), row, tolerance, $"{what}: slot {s} step {t} vs batch 1");
                    }
                }
            }
            if (split) Assert.True(((Backends.Cpu.CpuState)session.State).Workers!.Dispatches > dispatches, $"{name}: nothing was split");
        }
    }
}

/// <summary>
/// Run with lengths against PyTorch's packed sequences (Fixtures/Lengths, make_fixtures.py --only lengths):
/// pack_padded_sequence(enforce_sorted=False) of batch 5 with lengths 1..T unsorted, uni- and bidirectional,
/// stacked, LSTM with projections, time-major and batch_first modules: outputs (zero past each end) and final
/// states within 1e-5, on the reference and every CPU width, latency and panel paths.
/// </summary>
public class PackedSequenceFixtureTests
{
    private static string Folder => Path.Combine(PyTorchFixture.Folder, "Lengths");

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (string file in Directory.EnumerateFiles(Folder, "*.io.safetensors").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(file)[..^".io.safetensors".Length];
            foreach (string b in ManyStreamsTests.Backends)
                foreach (string path in b == "reference" ? new[] { "latency" } : ["latency", "panel"])
                    data.Add(name, b, path);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorchPackedSequences(string name, string backend, string path)
    {
        var f = new PyTorchFixture(name, Folder);
        bool batchFirst = f.Metadata["batch_first"] == "true";
        int[] lengths = [.. f["lengths"].Select(v => (int)v)];
        int B = lengths.Length;
        using RnnModel model = ManyStreamsTests.Load(f.ModelBytes, path);
        int T = f["x"].Length / (B * model.InputSize);
        using var session = new ManyStreamsTests.Streams(model, backend, B);
        session.State.CopyFrom(f.InitialState);
        var ys = new float[f["y"].Length];
        session.Run(f["x"], T, ys, null, lengths, batchFirst);
        string what = $"{name} {backend} {path}";
        CpuTestModels.AssertClose(f["y"], ys, 1e-5, $"{what} y");
        var state = new float[session.State.Length];
        session.State.CopyTo(state);
        CpuTestModels.AssertClose(f.FinalState, state, 1e-5, $"{what} final state");
        // Past each sequence's end: exactly zero.
        int O = model.OutputSize;
        for (int b = 0; b < B; b++)
            for (int t = lengths[b]; t < T; t++)
                Assert.True(ys.AsSpan(batchFirst ? (b * T + t) * O : (t * B + b) * O, O).IndexOfAnyExcept(0f) < 0, $"{what}: sequence {b} step {t} not zero");
    }
}

/// <summary>Every bad argument of the many-streams calls: a clear exception naming the argument, and the
/// whole state unchanged (reference, and the fastest CPU backend through the public session).</summary>
public class ManyStreamsArgumentTests
{
    public static TheoryData<string> Backends => new("reference", "auto");

    private static (RnnModel Model, RnnSession Session, float[] State) Open(string backend, bool bidirectional = false)
    {
        var model = RnnModel.Load(ManyStreamsTests.Network("lstm-proj", seed: 21, bidirectional), new RnnOptions { Backend = backend });
        RnnSession session = model.CreateSession(4);
        var state = TestModels.Inputs(session.StateLength, 22, 0.5f);
        session.SetState(state);
        return (model, session, state);
    }

    private static void Unchanged(RnnSession session, float[] state, string what)
    {
        var now = new float[session.StateLength];
        session.GetState(now);
        Assert.True(now.AsSpan().SequenceEqual(state), $"{what}: the state changed");
    }

    private static void Fails<TException>(RnnSession session, float[] state, string param, Action call, string what) where TException : ArgumentException
    {
        TException e = Assert.ThrowsAny<TException>(call);
        Assert.Equal(param, e.ParamName);
        Unchanged(session, state, what);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void SlotCallsCheckTheirArguments(string backend)
    {
        (RnnModel model, RnnSession s, float[] state) = Open(backend);
        using (model)
        using (s)
        {
            int n = s.SlotStateLength;
            Assert.Equal(s.StateLength / 4, n);
            foreach (int bad in new[] { -1, 4, int.MaxValue })
            {
                Fails<ArgumentOutOfRangeException>(s, state, "slot", () => s.Reset(bad), $"Reset({bad})");
                Fails<ArgumentOutOfRangeException>(s, state, "slot", () => s.GetState(bad, new float[n]), $"GetState({bad})");
                Fails<ArgumentOutOfRangeException>(s, state, "slot", () => s.SetState(bad, new float[n]), $"SetState({bad})");
            }
            Fails<RnnShapeException>(s, state, "state", () => s.GetState(1, new float[n + 1]), "GetState long");
            Fails<RnnShapeException>(s, state, "state", () => s.SetState(1, new float[n - 1]), "SetState short");
            var nan = new float[n];
            nan[n - 1] = float.NaN;
            Fails<ArgumentException>(s, state, "state", () => s.SetState(1, nan), "SetState NaN");
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void StepWithActiveChecksItsArguments(string backend)
    {
        (RnnModel model, RnnSession s, float[] state) = Open(backend);
        using (model)
        using (s)
        {
            int I = model.InputSize, O = model.OutputSize;
            void Step(int[] active, int rows = -1, int yRows = -1) =>
                s.Step(new float[(rows < 0 ? active.Length : rows) * I], new float[(yRows < 0 ? active.Length : yRows) * O], active);
            Fails<ArgumentOutOfRangeException>(s, state, "active", () => Step([0, 4]), "slot 4");
            Fails<ArgumentOutOfRangeException>(s, state, "active", () => Step([-1]), "slot -1");
            ArgumentException twice = Assert.ThrowsAny<ArgumentException>(() => Step([2, 0, 2]));
            Assert.Equal("active", twice.ParamName);
            Assert.Contains("slot 2 twice", twice.Message);
            Unchanged(s, state, "repeated slot");
            Fails<RnnShapeException>(s, state, "active", () => Step([0, 1, 2, 3, 0]), "5 slots of 4");
            Fails<RnnShapeException>(s, state, "x", () => Step([1, 3], rows: 3), "x of 3 rows for 2 slots");
            Fails<RnnShapeException>(s, state, "y", () => Step([1, 3], yRows: 1), "y of 1 row for 2 slots");
            var x = new float[2 * I];
            x[I + 1] = float.PositiveInfinity;
            Fails<ArgumentException>(s, state, "x", () => s.Step(x, new float[2 * O], [1, 3]), "x infinite");
            // An empty list steps nothing.
            s.Step([], [], ReadOnlySpan<int>.Empty);
            Unchanged(s, state, "empty active");
        }
        (model, s, state) = Open(backend, bidirectional: true);
        using (model)
        using (s)
        {
            Assert.Throws<InvalidOperationException>(() => s.Step(new float[model.InputSize], new float[model.OutputSize], [0]));
            Unchanged(s, state, "bidirectional Step");
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void RunWithLengthsAndActiveChecksItsArguments(string backend)
    {
        (RnnModel model, RnnSession s, float[] state) = Open(backend, bidirectional: true);
        using (model)
        using (s)
        {
            int I = model.InputSize, O = model.OutputSize;
            const int T = 5;
            float[] xs = new float[T * 4 * I], ys = new float[T * 4 * O];
            Fails<RnnShapeException>(s, state, "lengths", () => s.Run(xs, T, ys, [5, 5, 5]), "3 lengths for 4");
            Fails<RnnShapeException>(s, state, "lengths", () => s.Run(xs, T, ys, [5, 5, 5, 5, 5]), "5 lengths for 4");
            Fails<ArgumentOutOfRangeException>(s, state, "lengths", () => s.Run(xs, T, ys, [5, 0, 5, 5]), "a length of 0");
            Fails<ArgumentOutOfRangeException>(s, state, "lengths", () => s.Run(xs, T, ys, [5, 5, 6, 5]), "a length beyond steps");
            Fails<ArgumentOutOfRangeException>(s, state, "lengths", () => s.Run(xs, T, ys, [-1, 5, 5, 5]), "a negative length");
            Fails<RnnShapeException>(s, state, "xs", () => s.Run(xs.AsSpan(1), T, ys, [5, 5, 5, 5]), "xs short");
            Fails<RnnShapeException>(s, state, "ys", () => s.Run(xs, T, ys.AsSpan(1), [5, 5, 5, 5], RnnSequenceLayout.BatchFirst), "ys short");
            Fails<ArgumentOutOfRangeException>(s, state, "layout", () => s.Run(xs, T, ys, (RnnSequenceLayout)7), "layout 7");
            float[] xs2 = new float[T * 2 * I], ys2 = new float[T * 2 * O];
            Fails<RnnShapeException>(s, state, "lengths", () => s.RunActive(xs2, T, ys2, [3, 1], [5]), "1 length for 2 active");
            Fails<ArgumentOutOfRangeException>(s, state, "active", () => s.RunActive(xs2, T, ys2, [3, 9]), "active slot 9");
            Fails<ArgumentException>(s, state, "active", () => s.RunActive(xs2, T, ys2, [1, 1], [2, 3]), "active slot twice");
            Fails<RnnShapeException>(s, state, "xs", () => s.RunActive(xs, T, ys2, [3, 1]), "xs for 4 rows, 2 active");
            xs2[7] = float.NaN;
            Fails<ArgumentException>(s, state, "xs", () => s.RunActive(xs2, T, ys2, [3, 1], [2, 3]), "xs NaN");
        }
    }
}

/// <summary>Step over active slots, Run with active, lengths and batch-first, and the slot calls allocate nothing once warm.</summary>
[Collection(ZeroAllocationCollection.Name)]
public class ManyStreamsZeroAllocationTests
{
    private const int Calls = 1000;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string b in ManyStreamsTests.Backends)
            foreach (string path in b == "reference" ? new[] { "latency" } : ["latency", "panel"])
                data.Add(b, path);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void StreamsAllocateNothing(string backend, string path)
    {
        bool viaSession = backend == "reference" || Backends.BackendRegistry.UnavailableReason(backend) is null;
        foreach (bool bidirectional in new[] { false, true })
        {
            byte[] file = ManyStreamsTests.Network("lstm-proj", seed: 31, bidirectional);
            using RnnModel model = RnnModel.Load(file, new RnnOptions
            {
                Backend = viaSession ? backend : "reference",
                LatencyMaxWeightBytes = path == "panel" ? CpuThreadTests.PanelPathOnly : RnnOptions.Default.LatencyMaxWeightBytes,
            });
            const int B = 6, T = 5;
            using RnnSession? session = viaSession ? model.CreateSession(B) : null;
            using CpuRunner? runner = viaSession ? null : new CpuRunner(model, backend, B);
            RnnState state = session?.State ?? runner!.State;
            int I = model.InputSize, O = model.OutputSize;
            int[] active = [4, 1, 5], lengths = [3, 5, 1, 2, 5, 4], activeLengths = [2, 5, 1];
            float[] x = TestModels.Inputs(3 * I, 1), y = new float[3 * O];
            float[] xs = TestModels.Inputs(T * B * I, 2), ys = new float[T * B * O];
            float[] xsA = TestModels.Inputs(T * 3 * I, 3), ysA = new float[T * 3 * O];
            float[] slot = new float[state.SlotLength];
            string what = $"{backend} {path}{(bidirectional ? " bidirectional" : "")}";
            if (!bidirectional)
                Measure(() => { if (session is not null) session.Step(x, y, active); else state.Step(active, x, y); }, $"{what} Step(active)");
            Measure(() => { if (session is not null) session.Run(xs, T, ys, lengths); else state.Run(xs, T, ys, true, default, lengths, false); }, $"{what} Run(lengths)");
            Measure(() => { if (session is not null) session.Run(xs, T, ys, lengths, RnnSequenceLayout.BatchFirst); else state.Run(xs, T, ys, true, default, lengths, true); }, $"{what} Run(lengths, batch-first)");
            Measure(() => { if (session is not null) session.RunActive(xsA, T, ysA, active); else state.Run(xsA, T, ysA, false, active, default, false); }, $"{what} RunActive");
            Measure(() => { if (session is not null) session.RunActive(xsA, T, ysA, active, activeLengths, RnnSequenceLayout.BatchFirst); else state.Run(xsA, T, ysA, false, active, activeLengths, true); }, $"{what} RunActive(lengths, batch-first)");
            if (session is not null)
                Measure(() => { session.GetState(2, slot); session.SetState(3, slot); session.Reset(0); }, $"{what} slot calls");
        }
    }

    private static void Measure(Action call, string what)
    {
        for (int i = 0; i < 50; i++) call();
        long first = Window(call), allocated = first;
        // As CpuZeroAllocationTests: the runtime's own rare allocation moves the counter in one window at most.
        if (first != 0) allocated = Window(call);
        Assert.True(allocated == 0, $"{what}: {allocated} bytes allocated over {Calls} calls (first window {first})");
    }

    private static long Window(Action call)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Calls; i++) call();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
