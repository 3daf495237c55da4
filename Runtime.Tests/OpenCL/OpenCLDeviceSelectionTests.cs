using RnnRuntime.Backends;
using RnnRuntime.Backends.OpenCL;

namespace RnnRuntime.Tests.OpenCL;

/// <summary>RnnOptions.Device: by index, by name substring, and clear errors for what is not there.</summary>
public sealed class OpenCLDeviceSelectionTests(OpenCLDeviceFixture fixture) : IClassFixture<OpenCLDeviceFixture>
{
    private readonly OpenCLDeviceFixture _fixture = fixture;

    [Fact]
    public void DefaultIsTheFirstGpuElseTheFirstDevice()
    {
        OpenCLTestSupport.RequireDevice();
        IReadOnlyList<OpenCLDeviceInfo> all = OpenCLDevices.All;
        OpenCLDeviceInfo expected = all.FirstOrDefault(d => d.IsGpu) ?? all[0];
        Assert.Same(expected, OpenCLDevices.Select(null));
        Assert.Same(expected, new OpenCLBackend(OpenCLTestSupport.OpenCL()).Device);
    }

    [Fact]
    public void SelectsByIndex()
    {
        OpenCLTestSupport.RequireDevice();
        IReadOnlyList<OpenCLDeviceInfo> all = OpenCLDevices.All;
        OpenCLDeviceInfo last = all[^1];
        string index = last.Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Same(last, new OpenCLBackend(OpenCLTestSupport.OpenCL(index)).Device);
        byte[] file = OpenCLTestSupport.RandomModel(RnnCellKind.Rnn, 4, 5);
        using var model = RnnModel.Load(file, OpenCLTestSupport.OpenCL(index));
        OpenCLTestSupport.AssertRunMatchesReference(file, model, 1, 3, 1, $"device {index}");
    }

    [Fact]
    public void SelectsByNameSubstringIgnoringCase()
    {
        OpenCLTestSupport.RequireDevice();
        OpenCLDeviceInfo device = OpenCLDevices.All[^1];
        // A piece from the middle of the name, case flipped.
        string name = device.Name;
        string piece = name.Length > 4 ? name.Substring(1, name.Length - 2) : name;
        piece = new string(piece.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)).ToArray());
        OpenCLDeviceInfo chosen = new OpenCLBackend(OpenCLTestSupport.OpenCL(piece)).Device;
        Assert.Contains(piece, chosen.Name, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(OpenCLDevices.All.First(d => d.Name.Contains(piece, StringComparison.OrdinalIgnoreCase)), chosen);
    }

    [Fact]
    public void UnknownNameIsAClearError()
    {
        OpenCLTestSupport.RequireDevice();
        byte[] file = OpenCLTestSupport.RandomModel(RnnCellKind.Rnn, 4, 5);
        var e = Assert.Throws<RnnBackendUnavailableException>(() => RnnModel.Load(file, OpenCLTestSupport.OpenCL("no-such-device-xyz")));
        Assert.Contains("no OpenCL device name contains 'no-such-device-xyz'", e.Message);
        Assert.Contains(OpenCLDevices.All[0].Name, e.Message);   // it lists what is there
        Assert.NotNull(BackendRegistry.UnavailableReason("opencl", OpenCLTestSupport.OpenCL("no-such-device-xyz")));
    }

    [Fact]
    public void IndexOutOfRangeIsAClearError()
    {
        OpenCLTestSupport.RequireDevice();
        int count = OpenCLDevices.All.Count;
        var e = Assert.Throws<RnnBackendUnavailableException>(() =>
            RnnModel.Load(OpenCLTestSupport.RandomModel(RnnCellKind.Rnn, 4, 5), OpenCLTestSupport.OpenCL("99")));
        Assert.Contains($"OpenCL device index 99 is out of range: this machine has {count} device(s)", e.Message);
    }
}
