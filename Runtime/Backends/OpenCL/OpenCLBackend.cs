namespace RnnRuntime.Backends.OpenCL;

/// <summary>
/// Runs models on an OpenCL 1.2 device (a GPU, or a CPU driver such as PoCL) through Silk.NET.OpenCL.
/// The device is chosen when the backend is made (see <see cref="OpenCLDevices.Select"/>).
/// </summary>
internal sealed class OpenCLBackend : IRnnBackend
{
    /// <summary>How much "auto" wants a GPU. CPU OpenCL devices get no rank at all: on a CPU the
    /// SIMD backends are faster than any OpenCL CPU driver, and PoCL must never win over avx2.</summary>
    public const int GpuAutoRank = 40;

    public OpenCLBackend(RnnOptions options)
    {
        Device = OpenCLDevices.Select(options.Device);
    }

    public const string BackendName = "opencl";

    public string Name => BackendName;

    /// <summary>Every weight matrix is uploaded to the device; the host keeps no copy.</summary>
    public bool HoldsOwnWeights => true;

    /// <summary>The device this backend runs on.</summary>
    public OpenCLDeviceInfo Device { get; }

    public IPreparedRnn Prepare(RnnModel model) => model.WeightFormat == RnnWeightFormat.Float32
        ? new OpenCLNetwork(model, Device)
        : throw new RnnBackendUnavailableException(NarrowWeights(model.WeightFormat));

    /// <summary>Its kernels read float32 weights only; a narrow format is refused, never run widened on the host.</summary>
    private static string NarrowWeights(RnnWeightFormat format) =>
        $"the OpenCL kernels compute with float32 weights only, and RnnOptions.WeightFormat is {format}; load with Float32 or use a CPU backend (avx2, avx512)";

    public void Dispose() { }

    /// <summary>Registry probe: null when a device matching the options is present, else why not.
    /// Cheap after the first call (the device list is found once per process).</summary>
    internal static string? UnavailableReason(RnnOptions options)
    {
        if (options.WeightFormat != RnnWeightFormat.Float32) return NarrowWeights(options.WeightFormat);
        OpenCLDevices.TrySelect(options.Device, out string? reason);
        return reason;
    }

    /// <summary>Registry rank for "auto": only a GPU device takes part.</summary>
    internal static int? AutoRank(RnnOptions options) => options.WeightFormat == RnnWeightFormat.Float32 &&
        OpenCLDevices.TrySelect(options.Device, out _) is { IsGpu: true } ? GpuAutoRank : null;
}
