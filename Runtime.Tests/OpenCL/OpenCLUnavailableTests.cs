using RnnRuntime.Backends.OpenCL;

namespace RnnRuntime.Tests.OpenCL;

/// <summary>
/// The three ways OpenCL can be missing, each arranged in a child process (see
/// <see cref="OpenCLChildProcess"/>): asking for opencl gives an error that says which it is, and
/// auto quietly runs on a CPU backend.
/// </summary>
public sealed class OpenCLUnavailableTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("rnnrt-icd-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void NoIcdLoaderIsNamed()
    {
        string missing = Path.Combine(_folder, "libOpenCL.so.1");
        Dictionary<string, string> child = OpenCLChildProcess.Run("no-loader", new Dictionary<string, string>
        {
            [OpenCLDevices.LibraryVariable] = missing,
        });
        Assert.StartsWith("RnnBackendUnavailableException: ", child["load"]);
        Assert.Contains("the OpenCL ICD loader could not be loaded", child["load"]);
        Assert.Contains(missing, child["load"]);
        AssertAutoFallsBack(child);
    }

    [Fact]
    public void NoRegisteredPlatformIsNamed()
    {
        // An empty vendors folder: the loader is there, but no driver is registered with it.
        Dictionary<string, string> child = OpenCLChildProcess.Run("no-platform", new Dictionary<string, string>
        {
            ["OCL_ICD_VENDORS"] = _folder,
        });
        Assert.StartsWith("RnnBackendUnavailableException: ", child["load"]);
        Assert.Contains("no OpenCL platform", child["load"]);
        Assert.Contains("OCL_ICD_VENDORS=" + _folder, child["load"]);
        Assert.DoesNotContain("ICD loader could not be loaded", child["load"]);
        AssertAutoFallsBack(child);
    }

    [Fact]
    public void PlatformWithoutDevicesIsNamed()
    {
        // PoCL registered alone, told to offer no device: a platform with nothing on it.
        string? pocl = Directory.Exists("/etc/OpenCL/vendors")
            ? Directory.EnumerateFiles("/etc/OpenCL/vendors", "*.icd").FirstOrDefault(f => File.ReadAllText(f).Contains("pocl", StringComparison.OrdinalIgnoreCase))
            : null;
        if (pocl is null)
        {
            if (Environment.GetEnvironmentVariable(OpenCLTestSupport.RequireVariable) == "1")
                Assert.Fail("PoCL is not registered in /etc/OpenCL/vendors, but CI needs it (pocl-opencl-icd)");
            Assert.Skip("needs PoCL registered in /etc/OpenCL/vendors (pocl-opencl-icd) to arrange a platform without devices");
        }
        File.Copy(pocl, Path.Combine(_folder, Path.GetFileName(pocl)));
        Dictionary<string, string> child = OpenCLChildProcess.Run("no-device", new Dictionary<string, string>
        {
            ["OCL_ICD_VENDORS"] = _folder,
            ["POCL_DEVICES"] = "none",
        });
        Assert.StartsWith("RnnBackendUnavailableException: ", child["load"]);
        Assert.Contains("no OpenCL device: 1 platform(s) (Portable Computing Language) report no device", child["load"]);
        AssertAutoFallsBack(child);
    }

    private static void AssertAutoFallsBack(Dictionary<string, string> child)
    {
        Assert.DoesNotContain("opencl", child["available"].Split(','));
        Assert.NotEqual("opencl", child["auto"]);
        Assert.NotEqual("opencl", child["auto-load"]);
        Assert.Contains("backend 'opencl' is not available on this machine: " + child["reason"], child["load"]);
    }
}
