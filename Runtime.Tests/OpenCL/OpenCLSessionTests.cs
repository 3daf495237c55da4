using RnnRuntime.Backends;
using RnnRuntime.Backends.OpenCL;

namespace RnnRuntime.Tests.OpenCL;

/// <summary>Sessions on the opencl backend: Step against Run, state in device memory, no allocation.</summary>
public sealed class OpenCLSessionTests(OpenCLDeviceFixture fixture) : IClassFixture<OpenCLDeviceFixture>
{
    private readonly OpenCLDeviceFixture _fixture = fixture;

    [Theory]
    [InlineData(RnnCellKind.Rnn, 1, 1)]
    [InlineData(RnnCellKind.Gru, 2, 3)]
    [InlineData(RnnCellKind.Lstm, 2, 2)]
    public void StepsEqualRun(RnnCellKind cell, int layers, int batch)
    {
        OpenCLTestSupport.RequireDevice();
        byte[] file = OpenCLTestSupport.RandomModel(cell, 13, 37, layers, seed: 3);
        using var model = RnnModel.Load(file, OpenCLTestSupport.OpenCL());
        using RnnSession stepped = model.CreateSession(batch), run = model.CreateSession(batch);
        const int steps = 9;
        float[] xs = OpenCLTestSupport.Uniform(new Random(5), steps * run.InputLength, 1f);
        var ysRun = new float[steps * run.OutputLength];
        var ysStep = new float[ysRun.Length];
        run.Run(xs, steps, ysRun);
        for (int t = 0; t < steps; t++)
            stepped.Step(xs.AsSpan(t * run.InputLength, run.InputLength), ysStep.AsSpan(t * run.OutputLength, run.OutputLength));
        // A Step projects its input with the few-rows kernel, a 9-step Run with the tiled one: the same
        // sums in another order, so float rounding differs, far below the parity tolerance.
        const float rounding = 1e-6f;
        (float ys, int at) = OpenCLTestSupport.MaxAbsDiff(ysRun, ysStep);
        Assert.True(ys <= rounding, $"stepped ys differ from run ys by {ys} at [{at}]");
        (float state, int where) = OpenCLTestSupport.MaxAbsDiff(State(run), State(stepped));
        Assert.True(state <= rounding, $"stepped state differs from run state by {state} at [{where}]");
    }

    [Fact]
    public void RunContinuesFromTheStateItLeft()
    {
        OpenCLTestSupport.RequireDevice();
        byte[] file = OpenCLTestSupport.RandomModel(RnnCellKind.Gru, 7, 67, 2, bidirectional: false, seed: 4);
        using var model = RnnModel.Load(file, OpenCLTestSupport.OpenCL());
        using RnnSession whole = model.CreateSession(2), parts = model.CreateSession(2);
        float[] xs = OpenCLTestSupport.Uniform(new Random(6), 20 * whole.InputLength, 1f);
        var ysWhole = new float[20 * whole.OutputLength];
        var ysParts = new float[ysWhole.Length];
        whole.Run(xs, 20, ysWhole);
        // 3 then 17 steps: the second run also grows the session's scratch.
        parts.Run(xs.AsSpan(0, 3 * whole.InputLength), 3, ysParts.AsSpan(0, 3 * whole.OutputLength));
        parts.Run(xs.AsSpan(3 * whole.InputLength), 17, ysParts.AsSpan(3 * whole.OutputLength));
        Assert.Equal(ysWhole, ysParts);
    }

    [Theory]
    [InlineData(RnnCellKind.Gru, false)]
    [InlineData(RnnCellKind.Lstm, true)]
    public void StateRoundTripsAndResets(RnnCellKind cell, bool bidirectional)
    {
        OpenCLTestSupport.RequireDevice();
        byte[] file = OpenCLTestSupport.RandomModel(cell, 5, 13, 2, bidirectional, seed: 8);
        using var model = RnnModel.Load(file, OpenCLTestSupport.OpenCL());
        using RnnSession session = model.CreateSession(3);
        Assert.All(State(session), v => Assert.Equal(0f, v));   // a new session starts from zeros

        float[] state = OpenCLTestSupport.Uniform(new Random(9), session.StateLength, 0.7f);
        session.SetState(state);
        Assert.Equal(state, State(session));

        // After an odd number of steps the current h sits in the other half of the double buffer.
        float[] xs = OpenCLTestSupport.Uniform(new Random(10), 3 * session.InputLength, 1f);
        session.Run(xs, 3, new float[3 * session.OutputLength]);
        float[] after = State(session);
        Assert.NotEqual(state, after);
        session.SetState(state);
        Assert.Equal(state, State(session));
        session.SetState(after);
        Assert.Equal(after, State(session));

        session.Reset();
        Assert.All(State(session), v => Assert.Equal(0f, v));

        // What the device computes from a state set by SetState matches the reference from the same state.
        OpenCLTestSupport.AssertRunMatchesReference(file, model, 3, 4, seed: 11, "after SetState/Reset");
    }

    [Fact]
    public void StepOnBidirectionalModelIsRefused()
    {
        OpenCLTestSupport.RequireDevice();
        using var model = RnnModel.Load(OpenCLTestSupport.RandomModel(RnnCellKind.Rnn, 3, 4, bidirectional: true), OpenCLTestSupport.OpenCL());
        using RnnSession session = model.CreateSession();
        Assert.Throws<InvalidOperationException>(() => session.Step(new float[3], new float[8]));
    }

    /// <summary>
    /// Step, Run, GetState, SetState and Reset allocate nothing on the managed heap. A per-call
    /// allocation would show in every round of 50 calls, so one round at zero proves there is none;
    /// taking the best of three rounds keeps a one-off allocation of the runtime itself (tiered JIT
    /// bookkeeping was seen once) from failing the test.
    /// </summary>
    [Theory]
    [InlineData(RnnCellKind.Lstm, 1)]
    [InlineData(RnnCellKind.Gru, 16)]
    public void StepAndRunAllocateNothing(RnnCellKind cell, int batch)
    {
        OpenCLTestSupport.RequireDevice();
        using var model = RnnModel.Load(OpenCLTestSupport.RandomModel(cell, 16, 32, 2, seed: 12), OpenCLTestSupport.OpenCL());
        using RnnSession session = model.CreateSession(batch);
        var x = new float[session.InputLength];
        var y = new float[session.OutputLength];
        var xs = new float[10 * x.Length];
        var ys = new float[10 * y.Length];
        var state = new float[session.StateLength];

        long Round()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 50; i++) session.Step(x, y);
            for (int i = 0; i < 5; i++) session.Run(xs, 10, ys);
            session.Run(xs.AsSpan(0, 7 * x.Length), 7, ys.AsSpan(0, 7 * y.Length));
            session.GetState(state);
            session.SetState(state);
            session.Reset();
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Round();   // warm-up: JIT, and the first 10-step run grows the device scratch
        long[] rounds = [Round(), Round(), Round()];
        Assert.True(rounds.Min() == 0, $"bytes allocated per round of 50 steps, 6 runs and state copies: {string.Join(", ", rounds)}");
    }

    [Fact]
    public void SessionsOfOneModelRunOnThreadsAtOnce()
    {
        OpenCLTestSupport.RequireDevice();
        byte[] file = OpenCLTestSupport.RandomModel(RnnCellKind.Lstm, 9, 21, seed: 13);
        using var model = RnnModel.Load(file, OpenCLTestSupport.OpenCL());
        Parallel.For(0, 4, i => OpenCLTestSupport.AssertRunMatchesReference(file, model, 1 + i % 2, 12, seed: 20 + i, $"thread {i}"));
    }

    [Fact]
    public void AutoNeverPicksACpuDevice()
    {
        OpenCLTestSupport.RequireDevice();
        foreach (OpenCLDeviceInfo device in OpenCLDevices.All)
        {
            var options = new RnnOptions { Device = device.Index.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            Assert.Equal(device.IsGpu ? OpenCLBackend.GpuAutoRank : null, OpenCLBackend.AutoRank(options));
        }
        if (!OpenCLDevices.All.Any(d => d.IsGpu))
        {
            Assert.NotEqual("opencl", BackendRegistry.ResolveAuto());
            using var model = RnnModel.Load(OpenCLTestSupport.RandomModel(RnnCellKind.Gru, 3, 4), new RnnOptions { Backend = "auto" });
            Assert.NotEqual("opencl", model.Backend);
        }
        Assert.Contains("opencl", BackendRegistry.Available());
    }

    private static float[] State(RnnSession session)
    {
        var state = new float[session.StateLength];
        session.GetState(state);
        return state;
    }
}
