using System.Runtime.InteropServices;
using Silk.NET.Core.Contexts;

namespace RnnRuntime.Backends.OpenCL;

/// <summary>
/// The OpenCL ICD loader, opened with <see cref="NativeLibrary"/> and handed to Silk.NET as its
/// native context. Silk's own loader (CL.GetApi / CL.CreateDefaultContext) probes Assembly.Location
/// and DependencyContext, which NativeAOT reports as single-file hazards (IL3000/IL3002, errors under
/// warnings-as-errors in every NativeAOT build of this library); this needs neither. Loaded once per
/// process and never unloaded: Silk caches function pointers from it.
/// </summary>
internal sealed class OpenCLLibrary : INativeContext
{
    private readonly nint _handle;

    private OpenCLLibrary(nint handle) => _handle = handle;

    /// <summary>Opens the first of <paramref name="names"/> that loads; null with the reason when none does.</summary>
    public static OpenCLLibrary? TryOpen(IReadOnlyList<string> names, out string? error)
    {
        foreach (string name in names)
        {
            if (NativeLibrary.TryLoad(name, out nint handle))
            {
                error = null;
                return new OpenCLLibrary(handle);
            }
        }
        error = "not found or not loadable";
        return null;
    }

    public nint GetProcAddress(string proc, int? slot = null) =>
        TryGetProcAddress(proc, out nint address, slot) ? address : throw new EntryPointNotFoundException($"the OpenCL ICD loader has no '{proc}'");

    public bool TryGetProcAddress(string proc, out nint address, int? slot = null) =>
        NativeLibrary.TryGetExport(_handle, proc, out address);

    public void Dispose() { }
}
