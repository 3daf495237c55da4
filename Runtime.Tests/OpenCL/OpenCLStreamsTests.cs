using RnnRuntime.Model;

namespace RnnRuntime.Tests.OpenCL;

/// <summary>Many streams on the opencl backend: the per-slot Reset/GetState/SetState work (through a host
/// copy of the state); Step over active slots, Run with lengths, active slots or the batch-first layout are
/// not implemented there and are refused by name, the state unchanged.</summary>
public sealed class OpenCLStreamsTests(OpenCLDeviceFixture fixture) : IClassFixture<OpenCLDeviceFixture>
{
    private readonly OpenCLDeviceFixture _fixture = fixture;

    [Fact]
    public void SlotStateWorksAndSubsetsAreRefused()
    {
        OpenCLTestSupport.RequireDevice();
        byte[] file = OpenCLTestSupport.RandomModel(RnnCellKind.Lstm, 5, 9, 2, seed: 8);
        using var model = RnnModel.Load(file, OpenCLTestSupport.OpenCL());
        using RnnSession s = model.CreateSession(3);
        float[] state = SyntheticModel.Uniform(new Random(9), s.StateLength, 0.5f);
        s.SetState(state);
        int n = s.SlotStateLength;
        float[] slot = SyntheticModel.Uniform(new Random(10), n, 0.5f), back = new float[n];
        s.SetState(1, slot);
        s.GetState(1, back);
        Assert.Equal(slot, back);
        s.Reset(2);
        s.GetState(2, back);
        Assert.All(back, v => Assert.Equal(0f, v));
        s.GetState(0, back);
        var whole = new float[s.StateLength];
        s.GetState(whole);
        // Slot 0 untouched: its rows of every block are the original ones.
        using (var reference = RnnModel.Load(file, new RnnOptions { Backend = "reference" }))
        using (RnnSession r = reference.CreateSession(3))
        {
            r.SetState(state);
            var expected = new float[n];
            r.GetState(0, expected);
            Assert.Equal(expected, back);
        }

        const int T = 4;
        float[] xs = new float[T * 3 * model.InputSize], ys = new float[T * 3 * model.OutputSize];
        void Refused(Action call, string feature)
        {
            var e = Assert.Throws<RnnBackendUnavailableException>(call);
            Assert.Contains(feature, e.Message);
            var now = new float[s.StateLength];
            s.GetState(now);
            Assert.Equal(whole, now);
        }
        Refused(() => s.Step(new float[model.InputSize], new float[model.OutputSize], [1]), "active slots");
        Refused(() => s.Run(xs, T, ys, [1, 2, 3]), "sequence lengths");
        Refused(() => s.Run(xs, T, ys, RnnSequenceLayout.BatchFirst), "batch-first");
        Refused(() => s.RunActive(xs.AsSpan(0, T * model.InputSize), T, ys.AsSpan(0, T * model.OutputSize), [2]), "active slots");
        // Every slot in order, whole sequences, time-major: the plain calls, which run here.
        s.Step(new float[3 * model.InputSize], new float[3 * model.OutputSize], [0, 1, 2]);
        s.RunActive(xs, T, ys, [0, 1, 2]);
        s.Run(xs, T, ys, RnnSequenceLayout.TimeMajor);
    }
}
