namespace RnnRuntime.Tests.OpenCL;

/// <summary>
/// Keeps one OpenCL model alive for the whole test class, so the device's context and its built
/// program (shared by every model on the device while any is alive) are built once per class, not
/// once per test: PoCL takes seconds to compile the kernels.
/// </summary>
public sealed class OpenCLDeviceFixture : IDisposable
{
    private readonly RnnModel? _keepAlive;

    public OpenCLDeviceFixture()
    {
        if (Backends.OpenCL.OpenCLDevices.UnavailableReason is not null) return;
        _keepAlive = RnnModel.Load(OpenCLTestSupport.RandomModel(RnnCellKind.Gru, 3, 4), OpenCLTestSupport.OpenCL());
    }

    public void Dispose() => _keepAlive?.Dispose();
}
