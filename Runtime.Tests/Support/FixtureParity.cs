namespace RnnRuntime.Tests.Support;

/// <summary>Runs a PyTorch fixture through one backend and compares with what PyTorch computed.</summary>
public static class FixtureParity
{
    /// <summary>Run over the whole sequence from h0 (c0): y and h_n (c_n) against PyTorch float32 and float64.</summary>
    public static void CheckRun(PyTorchFixture f, string backend, double tolerance)
    {
        using RnnModel model = f.Load(backend);
        Assert.Equal(backend, model.Backend);
        using RnnSession session = model.CreateSession(f.Batch);
        session.SetState(f.InitialState);
        var ys = new float[f["y"].Length];
        session.Run(f["x"], f.Steps, ys);
        var state = new float[session.StateLength];
        session.GetState(state);

        Compare.Close(f["y"], ys, tolerance, $"{f.Name} on {backend}: y vs PyTorch float32");
        Compare.Close(f["y64"], ys, tolerance, $"{f.Name} on {backend}: y vs PyTorch float64");
        Compare.Close(f.FinalState, state, tolerance, $"{f.Name} on {backend}: final state vs PyTorch float32");
        Compare.Close(f.FinalState64, state, tolerance, $"{f.Name} on {backend}: final state vs PyTorch float64");
    }

    /// <summary>Streams a unidirectional fixture one Step at a time; must match PyTorch's sequence output.</summary>
    public static void CheckSteps(PyTorchFixture f, string backend, double tolerance)
    {
        using RnnModel model = f.Load(backend);
        using RnnSession session = model.CreateSession(f.Batch);
        session.SetState(f.InitialState);
        int inLen = session.InputLength, outLen = session.OutputLength;
        var ys = new float[f["y"].Length];
        for (int t = 0; t < f.Steps; t++)
            session.Step(f["x"].AsSpan(t * inLen, inLen), ys.AsSpan(t * outLen, outLen));
        var state = new float[session.StateLength];
        session.GetState(state);
        Compare.Close(f["y"], ys, tolerance, $"{f.Name} on {backend}: stepped y vs PyTorch");
        Compare.Close(f.FinalState, state, tolerance, $"{f.Name} on {backend}: stepped final state vs PyTorch");
    }
}
