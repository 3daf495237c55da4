using System.Globalization;
using System.Text;
using Silk.NET.OpenCL;

namespace RnnRuntime.Backends.OpenCL;

/// <summary>One OpenCL device as the ICD loader reports it. <see cref="Index"/> counts devices across
/// all platforms in the order the loader lists them; it is what a numeric <see cref="RnnOptions.Device"/> means.</summary>
public sealed record OpenCLDeviceInfo(
    int Index,
    string PlatformName,
    string Name,
    string Vendor,
    string Version,
    string DriverVersion,
    bool IsGpu,
    string TypeName,
    int ComputeUnits,
    long GlobalMemBytes,
    long LocalMemBytes,
    int MaxWorkGroupSize)
{
    internal nint Platform { get; init; }
    internal nint Device { get; init; }

    /// <summary>Platform, name, kind and index, as in messages and device lists.</summary>
    public override string ToString() =>
        $"{Index}: {Name} ({TypeName}, {PlatformName}, {Version}, {ComputeUnits} compute units, {GlobalMemBytes >> 20} MiB)";
}

/// <summary>
/// Finds the OpenCL devices of this machine, once per process, and picks the one that options name.
/// The three ways OpenCL can be missing (no ICD loader library, no platform registered with it, no
/// device on any platform) each get their own message, so a user can tell what to install.
/// </summary>
public static unsafe class OpenCLDevices
{
    /// <summary>Environment variable naming the ICD loader library instead of libOpenCL.so.1 / OpenCL.dll.</summary>
    public const string LibraryVariable = "RNNRT_OPENCL_LIBRARY";

    private static readonly Lazy<Probe> s_probe = new(Discover, LazyThreadSafetyMode.ExecutionAndPublication);

    private sealed record Probe(CL? Api, IReadOnlyList<OpenCLDeviceInfo> Devices, string? Error);

    /// <summary>Every device of every platform; throws <see cref="RnnBackendUnavailableException"/> when
    /// there is no loader, no platform or no device.</summary>
    public static IReadOnlyList<OpenCLDeviceInfo> All
    {
        get
        {
            Probe p = s_probe.Value;
            if (p.Error is not null) throw new RnnBackendUnavailableException(p.Error);
            return p.Devices;
        }
    }

    /// <summary>Null when at least one OpenCL device is present, else why not.</summary>
    public static string? UnavailableReason => s_probe.Value.Error;

    internal static CL Api => s_probe.Value.Api ?? throw new RnnBackendUnavailableException(s_probe.Value.Error!);

    /// <summary>
    /// The device <paramref name="spec"/> names: null or empty picks the first GPU, else the first
    /// device; a number is an index into <see cref="All"/>; anything else is a case-insensitive
    /// substring of the device name.
    /// </summary>
    public static OpenCLDeviceInfo Select(string? spec)
    {
        IReadOnlyList<OpenCLDeviceInfo> all = All;
        if (string.IsNullOrWhiteSpace(spec))
            return all.FirstOrDefault(d => d.IsGpu) ?? all[0];
        spec = spec.Trim();
        if (int.TryParse(spec, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            if (index < all.Count) return all[index];
            throw new RnnBackendUnavailableException(
                $"OpenCL device index {index} is out of range: this machine has {all.Count} device(s): {Describe(all)}");
        }
        return all.FirstOrDefault(d => d.Name.Contains(spec, StringComparison.OrdinalIgnoreCase))
            ?? throw new RnnBackendUnavailableException(
                $"no OpenCL device name contains '{spec}'; this machine has: {Describe(all)}");
    }

    /// <summary>The device <paramref name="spec"/> names, or null with the reason in <paramref name="reason"/>.</summary>
    internal static OpenCLDeviceInfo? TrySelect(string? spec, out string? reason)
    {
        try
        {
            reason = null;
            return Select(spec);
        }
        catch (RnnBackendUnavailableException e)
        {
            reason = e.Message;
            return null;
        }
    }

    private static string Describe(IReadOnlyList<OpenCLDeviceInfo> all) => string.Join("; ", all.Select(d => $"{d.Index}: {d.Name}"));

    private static Probe Discover()
    {
        string[] libraries = Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } custom ? [custom] : DefaultLibraries;
        OpenCLLibrary? library = OpenCLLibrary.TryOpen(libraries, out string? loadError);
        if (library is null)
            return new Probe(null, [], $"the OpenCL ICD loader could not be loaded ('{string.Join("', '", libraries)}': {loadError}). " +
                "Install an ICD loader (Debian/Ubuntu: ocl-icd-libopencl1) and an OpenCL driver (a GPU vendor's driver, or pocl-opencl-icd for the CPU)");
        var api = new CL(library);

        uint platformCount = 0;
        int status = api.GetPlatformIDs(0, null, &platformCount);
        if (status == (int)ClStatus.PlatformNotFoundKhr || (status == 0 && platformCount == 0))
        {
            string vendors = Environment.GetEnvironmentVariable("OCL_ICD_VENDORS") is { Length: > 0 } v ? $"OCL_ICD_VENDORS={v}" : "/etc/OpenCL/vendors";
            return new Probe(api, [], $"no OpenCL platform: the ICD loader found no registered driver (clGetPlatformIDs: {ClStatusNames.Name(status)}; looked in {vendors}). " +
                "Install an OpenCL driver that registers an .icd file (a GPU vendor's driver, or pocl-opencl-icd for the CPU)");
        }
        if (status != 0)
            return new Probe(api, [], $"clGetPlatformIDs failed: {ClStatusNames.Name(status)} ({status})");

        var platforms = new nint[platformCount];
        fixed (nint* p = platforms) ClStatusNames.ThrowIfFailed(api.GetPlatformIDs(platformCount, p, null), "clGetPlatformIDs");

        var devices = new List<OpenCLDeviceInfo>();
        var platformNames = new List<string>();
        foreach (nint platform in platforms)
        {
            string platformName = PlatformString(api, platform, PlatformInfo.Name);
            platformNames.Add(platformName);
            uint count = 0;
            status = api.GetDeviceIDs(platform, DeviceType.All, 0, null, &count);
            if (status == (int)ClStatus.DeviceNotFound || count == 0) continue;
            ClStatusNames.ThrowIfFailed(status, "clGetDeviceIDs");
            var ids = new nint[count];
            fixed (nint* d = ids) ClStatusNames.ThrowIfFailed(api.GetDeviceIDs(platform, DeviceType.All, count, d, null), "clGetDeviceIDs");
            foreach (nint id in ids)
            {
                ulong type = DeviceValue<ulong>(api, id, DeviceInfo.Type);
                devices.Add(new OpenCLDeviceInfo(
                    devices.Count,
                    platformName,
                    DeviceString(api, id, DeviceInfo.Name),
                    DeviceString(api, id, DeviceInfo.Vendor),
                    DeviceString(api, id, DeviceInfo.Version),
                    DeviceString(api, id, DeviceInfo.DriverVersion),
                    (type & (ulong)DeviceType.Gpu) != 0,
                    TypeName(type),
                    (int)DeviceValue<uint>(api, id, DeviceInfo.MaxComputeUnits),
                    (long)DeviceValue<ulong>(api, id, DeviceInfo.GlobalMemSize),
                    (long)DeviceValue<ulong>(api, id, DeviceInfo.LocalMemSize),
                    (int)Math.Min(int.MaxValue, DeviceValue<nuint>(api, id, DeviceInfo.MaxWorkGroupSize)))
                {
                    Platform = platform,
                    Device = id,
                });
            }
        }
        if (devices.Count == 0)
            return new Probe(api, [], $"no OpenCL device: {platformNames.Count} platform(s) ({string.Join(", ", platformNames)}) report no device");
        return new Probe(api, devices, null);
    }

    private static string[] DefaultLibraries =>
        OperatingSystem.IsWindows() ? ["OpenCL.dll"] :
        OperatingSystem.IsMacOS() ? ["/System/Library/Frameworks/OpenCL.framework/OpenCL"] :
        ["libOpenCL.so.1", "libOpenCL.so"];

    private static string TypeName(ulong type) =>
        (type & (ulong)DeviceType.Gpu) != 0 ? "GPU" :
        (type & (ulong)DeviceType.Cpu) != 0 ? "CPU" :
        (type & (ulong)DeviceType.Accelerator) != 0 ? "accelerator" : "other";

    private static T DeviceValue<T>(CL api, nint device, DeviceInfo what) where T : unmanaged
    {
        T value = default;
        ClStatusNames.ThrowIfFailed(api.GetDeviceInfo(device, what, (nuint)sizeof(T), &value, null), "clGetDeviceInfo");
        return value;
    }

    private static string DeviceString(CL api, nint device, DeviceInfo what)
    {
        nuint size = 0;
        ClStatusNames.ThrowIfFailed(api.GetDeviceInfo(device, what, 0, null, &size), "clGetDeviceInfo");
        var bytes = new byte[(int)size];
        fixed (byte* b = bytes) ClStatusNames.ThrowIfFailed(api.GetDeviceInfo(device, what, size, b, null), "clGetDeviceInfo");
        return Decode(bytes);
    }

    private static string PlatformString(CL api, nint platform, PlatformInfo what)
    {
        nuint size = 0;
        ClStatusNames.ThrowIfFailed(api.GetPlatformInfo(platform, what, 0, null, &size), "clGetPlatformInfo");
        var bytes = new byte[(int)size];
        fixed (byte* b = bytes) ClStatusNames.ThrowIfFailed(api.GetPlatformInfo(platform, what, size, b, null), "clGetPlatformInfo");
        return Decode(bytes);
    }

    internal static string Decode(byte[] bytes) => Encoding.UTF8.GetString(bytes).TrimEnd('\0').Trim();
}
