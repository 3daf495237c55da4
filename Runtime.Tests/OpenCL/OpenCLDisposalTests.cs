using RnnRuntime.Backends.OpenCL;

namespace RnnRuntime.Tests.OpenCL;

/// <summary>Runs alone: it counts every OpenCL object of the process, which parallel tests would disturb.</summary>
[CollectionDefinition(nameof(OpenCLDisposalTests), DisableParallelization = true)]
public sealed class OpenCLDisposalCollection;

/// <summary>Every OpenCL object a model or session makes is released exactly once when it is disposed.</summary>
[Collection(nameof(OpenCLDisposalTests))]
public sealed class OpenCLDisposalTests
{
    [Fact]
    public void DisposingSessionsAndModelsReleasesEverything()
    {
        OpenCLTestSupport.RequireDevice();
        long before = OpenCLObjectCount.Live;
        int contextsBefore = OpenCLDeviceContext.LiveCount;

        var model = RnnModel.Load(OpenCLTestSupport.RandomModel(RnnCellKind.Lstm, 5, 9, 3, bidirectional: true), OpenCLTestSupport.OpenCL());
        long withModel = OpenCLObjectCount.Live;
        Assert.True(withModel > before, "a prepared model holds device buffers");

        RnnSession a = model.CreateSession(2), b = model.CreateSession(1);
        long withSessions = OpenCLObjectCount.Live;
        Assert.True(withSessions > withModel, "a session holds a queue, kernels and buffers");
        a.Run(new float[50 * a.InputLength], 50, new float[50 * a.OutputLength]);   // grows a's scratch

        a.Dispose();
        a.Dispose();   // twice is fine and releases nothing twice
        Assert.Equal(withSessions - (withSessions - withModel) / 2, OpenCLObjectCount.Live);
        b.Dispose();
        Assert.Equal(withModel, OpenCLObjectCount.Live);
        Assert.Throws<ObjectDisposedException>(() => a.Run(new float[a.InputLength], 1, new float[a.OutputLength]));

        model.Dispose();
        model.Dispose();
        Assert.Equal(before, OpenCLObjectCount.Live);
        Assert.Equal(contextsBefore, OpenCLDeviceContext.LiveCount);
        Assert.Throws<ObjectDisposedException>(() => model.CreateSession());
    }

    [Fact]
    public void ModelsOnOneDeviceShareOneContextUntilTheLastIsDisposed()
    {
        OpenCLTestSupport.RequireDevice();
        int contextsBefore = OpenCLDeviceContext.LiveCount;
        long before = OpenCLObjectCount.Live;
        var first = RnnModel.Load(OpenCLTestSupport.RandomModel(RnnCellKind.Rnn, 3, 4), OpenCLTestSupport.OpenCL());
        var second = RnnModel.Load(OpenCLTestSupport.RandomModel(RnnCellKind.Gru, 3, 4), OpenCLTestSupport.OpenCL());
        Assert.Equal(contextsBefore + 1, OpenCLDeviceContext.LiveCount);
        first.Dispose();
        Assert.Equal(contextsBefore + 1, OpenCLDeviceContext.LiveCount);
        // The survivor still runs after the other model is gone.
        OpenCLTestSupport.AssertRunMatchesReference(OpenCLTestSupport.RandomModel(RnnCellKind.Gru, 3, 4), second, 1, 5, 2, "second model");
        second.Dispose();
        Assert.Equal(contextsBefore, OpenCLDeviceContext.LiveCount);
        Assert.Equal(before, OpenCLObjectCount.Live);
    }

    [Fact]
    public void AFailedBuildReportsTheBuildLog()
    {
        OpenCLTestSupport.RequireDevice();
        long before = OpenCLObjectCount.Live;
        var e = Assert.Throws<OpenCLException>(() =>
            OpenCLDeviceContext.BuildForTest(OpenCLDevices.Select(null), "__kernel void broken(__global float* a) { a[0] = undefined_name; }"));
        Assert.Equal(ClStatus.BuildProgramFailure, e.Status);
        Assert.Contains("clBuildProgram failed: CL_BUILD_PROGRAM_FAILURE (-11)", e.Message);
        Assert.Contains("build log", e.Message);
        Assert.Contains("undefined_name", e.Message);   // the compiler's own words
        Assert.Equal(before, OpenCLObjectCount.Live);
    }
}
