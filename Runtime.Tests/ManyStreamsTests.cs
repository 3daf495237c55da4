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
    public static readonly string[] Cells = ["rnn", "rnn-relu", "gru", "lstm", "lstm-proj"];

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
    internal static byte[] Network(string cell, int seed, bool bidirectional = false)
    {
        int proj = cell == "lstm-proj" ? 5 : 0, hidden = 12;
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
        using RnnModel model = Load(Network(cell, seed: 12), "panel", format, threads);
        RunSchedule(model, backend, slow ? 16 : 32, slow ? 60 : 200, seed: 5, $"{backend} {cell} {format} threads {threads}",
            tolerance: format == RnnWeightFormat.Int8 ? 1e-4 : 1e-5, split: threads > 1);
    }

    private static void RunSchedule(RnnModel model, string backend, int B, int ticks, int seed, string what, double tolerance = 1e-5, bool split = false)
    {
        using var mixed = new Streams(model, backend, B);
        using var alone = new Streams(model, backend, B);
        if (split) ((Backends.Cpu.CpuState)mixed.State).MinWorkPerPart = 1;
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
            const int B = 7, T = 9;
            int I = model.InputSize, O = model.OutputSize;
            var rng = new Random(17);
            using var session = new Streams(model, backend, B);
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
                (null, null, true),
                ([4, 1, 6], null, false),
                ([5, 0], null, true),
                ([6, 2, 3, 0], [2, 9, 1, 4], false),
                ([3], [6], true),
            };
            foreach ((int[]? active, int[]? lengths, bool batchFirst) in cases)
            {
                string what = $"{backend} {cell} {path}{(bidirectional ? " bidirectional" : "")} active [{string.Join(",", active ?? [])}] lengths [{string.Join(",", lengths ?? [])}]{(batchFirst ? " batch-first" : "")}";
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
                        CpuTestModels.AssertClose(single.Get(0), session.Get(s), 1e-5, $"{what}: final state of slot {s} vs batch 1");
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
                        CpuTestModels.AssertClose(ySingle.AsSpan(t * O, O), row, 1e-5, $"{what}: slot {s} step {t} vs batch 1");
                    }
                }
            }
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
