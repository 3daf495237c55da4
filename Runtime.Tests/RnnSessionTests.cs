using RnnRuntime.Backends;
using RnnRuntime.Memory;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>Session semantics and argument checks, on the reference backend.</summary>
public class RnnSessionTests
{
    private static RnnModel Model(RnnCellKind cell = RnnCellKind.Gru, int input = 5, int hidden = 7, int layers = 2, bool bi = false) =>
        RnnModel.Load(TestModels.Create(cell, input, hidden, layers, bi, seed: 3), new RnnOptions { Backend = "reference" });

    [Fact]
    public void WrongLengthsNameTheExpectedLength()
    {
        using var m = Model();
        using var s = m.CreateSession(2);
        var e = Assert.Throws<RnnShapeException>(() => s.Step(new float[9], new float[14]));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("expected 10 (batch 2 x input 5)", e.Message);
        e = Assert.Throws<RnnShapeException>(() => s.Step(new float[10], new float[15]));
        Assert.Equal("y", e.ParamName);
        Assert.Contains("expected 14", e.Message);
        e = Assert.Throws<RnnShapeException>(() => s.Run(new float[30], 3, new float[41]));
        Assert.Contains("expected 42 (3 steps x batch 2 x 7 outputs)", e.Message);
        e = Assert.Throws<RnnShapeException>(() => s.Run(new float[31], 3, new float[42]));
        Assert.Equal("xs", e.ParamName);
        e = Assert.Throws<RnnShapeException>(() => s.GetState(new float[27]));
        Assert.Contains("expected 28 (h 2 x batch 2 x hidden 7)", e.Message);
        Assert.Throws<RnnShapeException>(() => s.SetState(new float[29]));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Run([], -1, []));
        s.Run([], 0, []); // an empty sequence is fine and changes nothing
    }

    [Fact]
    public void LstmStateHoldsHThenC()
    {
        using var m = Model(RnnCellKind.Lstm);
        using var s = m.CreateSession(3);
        Assert.Equal(2 * 2 * 3 * 7, s.StateLength);
        var e = Assert.Throws<RnnShapeException>(() => s.GetState(new float[1]));
        Assert.Contains("h and c, each 2 x batch 3 x hidden 7", e.Message);
    }

    [Fact]
    public void StepOnBidirectionalModelIsAClearError()
    {
        using var m = Model(bi: true);
        using var s = m.CreateSession();
        var e = Assert.Throws<InvalidOperationException>(() => s.Step(new float[5], new float[7]));
        Assert.Contains("bidirectional", e.Message);
        Assert.Contains("Run", e.Message);
    }

    [Fact]
    public void NonFiniteInputIsRejectedAndStateIsUnchanged()
    {
        using var m = Model();
        using var s = m.CreateSession();
        s.Run(TestModels.Inputs(15, 1), 3, new float[21]);
        var before = new float[s.StateLength];
        s.GetState(before);

        var x = TestModels.Inputs(5, 2);
        x[3] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => s.Step(x, new float[7]));
        Assert.Contains("x[3] is NaN", e.Message);
        var xs = TestModels.Inputs(50, 2);
        xs[47] = float.PositiveInfinity;
        e = Assert.Throws<ArgumentException>(() => s.Run(xs, 10, new float[70]));
        Assert.Contains("xs[47] is", e.Message);
        Assert.Contains("must be finite", e.Message);
        var bad = (float[])before.Clone();
        bad[0] = float.NaN;
        Assert.Throws<ArgumentException>(() => s.SetState(bad));

        var after = new float[s.StateLength];
        s.GetState(after);
        Assert.Equal(before, after);
    }

    [Fact]
    public void OverlappingInputAndOutputAreRejected()
    {
        using var m = Model(input: 7, hidden: 7, layers: 1);
        using var s = m.CreateSession();
        var buffer = new float[14];
        Assert.Throws<ArgumentException>(() => s.Run(buffer, 2, buffer));
        Assert.Throws<ArgumentException>(() => s.Step(buffer.AsSpan(0, 7), buffer.AsSpan(3, 7)));
    }

    [Theory]
    [InlineData(RnnCellKind.Rnn)]
    [InlineData(RnnCellKind.Gru)]
    [InlineData(RnnCellKind.Lstm)]
    public void RunContinuesFromTheStateItLeaves(RnnCellKind cell)
    {
        using var m = Model(cell, bi: true);
        float[] xs = TestModels.Inputs(11 * 2 * 5, 4);
        using var whole = m.CreateSession(2);
        var ysWhole = new float[11 * 2 * 14];
        whole.Run(xs, 11, ysWhole);

        // A unidirectional model split into two Runs gives the same outputs; bidirectional models
        // do not (the backward pass sees a different future), so compare the state chaining only.
        using var uni = Model(cell);
        using var a = uni.CreateSession(2);
        using var b = uni.CreateSession(2);
        var ya = new float[11 * 2 * 7];
        var yb = new float[11 * 2 * 7];
        a.Run(xs, 11, ya);
        b.Run(xs.AsSpan(0, 4 * 10), 4, yb.AsSpan(0, 4 * 14));
        b.Run(xs.AsSpan(4 * 10), 7, yb.AsSpan(4 * 14));
        Assert.Equal(ya, yb);
        var sa = new float[a.StateLength];
        var sb = new float[b.StateLength];
        a.GetState(sa);
        b.GetState(sb);
        Assert.Equal(sa, sb);
    }

    [Fact]
    public void ResetAndSetStateRestartAStream()
    {
        using var m = Model(RnnCellKind.Lstm);
        using var s = m.CreateSession();
        float[] xs = TestModels.Inputs(5 * 6, 5);
        var y1 = new float[6 * 7];
        var y2 = new float[6 * 7];
        var saved = new float[s.StateLength];
        s.Run(xs, 6, y1);
        s.GetState(saved);
        Assert.Contains(saved, v => v != 0);
        s.Reset();
        var zero = new float[s.StateLength];
        s.GetState(zero);
        Assert.All(zero, v => Assert.Equal(0f, v));
        s.Run(xs, 6, y2);
        Assert.Equal(y1, y2);

        // SetState to the saved state and continue == continuing the original.
        var cont1 = new float[6 * 7];
        var cont2 = new float[6 * 7];
        s.Run(xs, 6, cont1);
        s.SetState(saved);
        s.Run(xs, 6, cont2);
        Assert.Equal(cont1, cont2);
    }

    [Fact]
    public void BatchItemsAreIndependent()
    {
        using var m = Model(RnnCellKind.Gru, bi: true);
        const int T = 6, B = 3, I = 5, O = 14;
        float[] xs = TestModels.Inputs(T * B * I, 6);
        var ys = new float[T * B * O];
        using (var s = m.CreateSession(B)) s.Run(xs, T, ys);
        for (int b = 0; b < B; b++)
        {
            var x1 = new float[T * I];
            for (int t = 0; t < T; t++) xs.AsSpan((t * B + b) * I, I).CopyTo(x1.AsSpan(t * I));
            var y1 = new float[T * O];
            using var s1 = m.CreateSession(1);
            s1.Run(x1, T, y1);
            for (int t = 0; t < T; t++)
                Assert.Equal(ys.AsSpan((t * B + b) * O, O).ToArray(), y1.AsSpan(t * O, O).ToArray());
        }
    }

    [Fact]
    public void DisposedSessionsThrowAndADisposedModelRefusesNewSessions()
    {
        var m = Model();
        var s = m.CreateSession();
        s.Dispose();
        s.Dispose(); // twice is fine
        Assert.Throws<ObjectDisposedException>(() => s.Step(new float[5], new float[7]));
        Assert.Throws<ObjectDisposedException>(() => s.Reset());
        m.Dispose();
        Assert.Throws<ObjectDisposedException>(() => m.CreateSession());
    }

    [Theory]
    [InlineData("reference")]
    [InlineData("auto")]
    public void ASessionKeepsWorkingAfterItsModelIsDisposed(string backend)
    {
        // The same rule as rnnrt_model_free in C and Model.close in Python: a session keeps its model alive.
        byte[] file = TestModels.Create(RnnCellKind.Gru, 5, 7, layers: 2, seed: 3);
        float[] xs = TestModels.Inputs(4 * 5, 11);
        var expected = new float[4 * 7];
        using (var reference = RnnModel.Load(file, new RnnOptions { Backend = backend }))
        using (var s = reference.CreateSession())
            for (int t = 0; t < 4; t++) s.Step(xs.AsSpan(t * 5, 5), expected.AsSpan(t * 7, 7));

        var m = RnnModel.Load(file, new RnnOptions { Backend = backend });
        var kept = m.CreateSession();
        m.Dispose();
        m.Dispose();
        var y = new float[7];
        var state = new float[kept.StateLength];
        for (int t = 0; t < 4; t++)
        {
            kept.Step(xs.AsSpan(t * 5, 5), y);
            Assert.Equal(expected.AsSpan(t * 7, 7).ToArray(), y);
        }
        kept.GetState(state);
        kept.Reset();
        kept.SetState(state);
        kept.Run(new float[2 * 5], 2, new float[2 * 7]);
        Assert.Equal(7, kept.Model.OutputSize);
        kept.Dispose();
        Assert.Throws<ObjectDisposedException>(() => kept.Reset());
    }

    [Fact]
    public void BatchSizeIsChecked()
    {
        using var m = Model();
        Assert.Throws<ArgumentOutOfRangeException>(() => m.CreateSession(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.CreateSession(-2));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.CreateSession(RnnModel.MaxBatchSize + 1));
    }

    [Fact]
    public void OneModelServesManyThreads()
    {
        using var m = Model(RnnCellKind.Lstm, layers: 2);
        float[] xs = TestModels.Inputs(5 * 200, 7);
        var expected = new float[200 * 7];
        using (var s = m.CreateSession()) s.Run(xs, 200, expected);
        var results = new float[4][];
        Parallel.For(0, 4, i =>
        {
            using var s = m.CreateSession();
            var ys = new float[200 * 7];
            for (int t = 0; t < 200; t++) s.Step(xs.AsSpan(t * 5, 5), ys.AsSpan(t * 7, 7));
            results[i] = ys;
        });
        foreach (float[] r in results) Assert.Equal(expected, r);
    }

    [Fact]
    public void UnknownOrUnavailableBackendListsWhatIsAvailable()
    {
        byte[] file = TestModels.Create(RnnCellKind.Rnn, 2, 3);
        var e = Assert.Throws<RnnBackendUnavailableException>(() => RnnModel.Load(file, new RnnOptions { Backend = "cuda" }));
        Assert.Contains("unknown backend 'cuda'", e.Message);
        Assert.Contains("available here: reference", e.Message);
        foreach (string name in BackendRegistry.Known.Except(BackendRegistry.Available()))
        {
            e = Assert.Throws<RnnBackendUnavailableException>(() => RnnModel.Load(file, new RnnOptions { Backend = name }));
            Assert.Contains($"backend '{name}' is not available on this machine", e.Message);
        }
    }

    [Fact]
    public void AutoResolvesToAnAvailableBackend()
    {
        byte[] file = TestModels.Create(RnnCellKind.Rnn, 2, 3);
        string auto = BackendRegistry.ResolveAuto();
        Assert.Contains(auto, BackendRegistry.Available());
        using var m = RnnModel.Load(file);
        Assert.Equal(auto, m.Backend);
        using var m2 = RnnModel.Load(file, new RnnOptions { Backend = " Reference " });
        Assert.Equal("reference", m2.Backend);
    }

    [Fact]
    public unsafe void PooledBuffersAreAlignedZeroedAndReused()
    {
        var pool = new AlignedBufferPool();
        var a = pool.Rent(37);
        Assert.Equal(0, (long)a.Pointer % 64);
        Assert.Equal(37, a.Length);
        a.Span.Fill(3f);
        float* p = a.Pointer;
        a.Dispose();
        a.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.Span.Length);
        var b = pool.Rent(40); // same 64-float size class
        Assert.True(p == b.Pointer, "the size class should reuse the returned block");
        Assert.All(b.Span.ToArray(), v => Assert.Equal(0f, v));
        b.Dispose();
    }
}

/// <summary>The reference backend's Step and Run, through the session, allocate nothing once warm.</summary>
[Collection(ZeroAllocationCollection.Name)]
public class ReferenceZeroAllocationTests
{
    private static RnnModel Model(RnnCellKind cell, int layers, bool bi = false) =>
        RnnModel.Load(TestModels.Create(cell, 5, 7, layers, bi, seed: 3), new RnnOptions { Backend = "reference" });

    [Theory]
    [InlineData(RnnCellKind.Rnn)]
    [InlineData(RnnCellKind.Gru)]
    [InlineData(RnnCellKind.Lstm)]
    public void ReferenceStepAndRunAllocateNothing(RnnCellKind cell)
    {
        using var m = Model(cell, 2);
        using var bi = Model(cell, 2, bi: true);
        using var s = m.CreateSession(2);
        using var sb = bi.CreateSession(2);
        float[] x = TestModels.Inputs(10, 8), y = new float[14];
        float[] xs = TestModels.Inputs(10 * 20, 9), ys = new float[14 * 20], ysb = new float[28 * 20];
        var state = new float[s.StateLength];
        // Warm up: JIT tiers and the scratch a 20-step Run needs.
        for (int i = 0; i < 50; i++) { s.Step(x, y); s.Run(xs, 20, ys); sb.Run(xs, 20, ysb); }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5000; i++) s.Step(x, y);
        for (int i = 0; i < 200; i++) { s.Run(xs, 20, ys); sb.Run(xs, 20, ysb); s.GetState(state); s.SetState(state); }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }
}
