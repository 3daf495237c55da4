using RnnRuntime.Backends.Cpu;
using RnnRuntime.Backends.OpenCL;
using RnnRuntime.Backends.Reference;

namespace RnnRuntime.Backends;

/// <summary>
/// One line per backend: its name, whether it can run here (null, or the reason it cannot), how much
/// "auto" wants it (higher wins, null: never chosen by auto), and how to make it.
/// </summary>
internal sealed record BackendEntry(
    string Name,
    Func<RnnOptions, string?> UnavailableReason,
    Func<RnnOptions, int?> AutoRank,
    Func<RnnOptions, IRnnBackend> Create);

/// <summary>Which backends this runtime has, which of them run on this machine, and what "auto" picks.</summary>
public static class BackendRegistry
{
    /// <summary>The backend name that picks the fastest backend present here.</summary>
    public const string Auto = "auto";

    private static readonly BackendEntry[] Entries =
    [
        new("reference", _ => null, _ => 0, _ => new ReferenceBackend()),
        // Vector128 (SSE on x86, NEON on ARM64): below avx2 and avx512, above the scalar reference.
        new(CpuBackend.SseName, _ => CpuBackend.Vector128UnavailableReason(CpuBackend.SseName), _ => 10, _ => new CpuBackend(CpuVectorWidth.Vector128)),
        new(CpuBackend.NeonName, _ => CpuBackend.Vector128UnavailableReason(CpuBackend.NeonName), _ => 10, _ => new CpuBackend(CpuVectorWidth.Vector128)),
        new(CpuBackend.Avx2Name, _ => CpuBackend.Avx2UnavailableReason(), _ => 20, _ => new CpuBackend(CpuVectorWidth.Vector256)),
        new(CpuBackend.Avx512Name, _ => CpuBackend.Avx512UnavailableReason(), _ => 30, _ => new CpuBackend(CpuVectorWidth.Vector512)),
        new("opencl", OpenCLBackend.UnavailableReason, OpenCLBackend.AutoRank, o => new OpenCLBackend(o)),
    ];

    /// <summary>Every backend built into this runtime, available here or not.</summary>
    public static IReadOnlyList<string> Known { get; } = Entries.Select(e => e.Name).ToArray();

    /// <summary>Backends that can run on this machine with these options.</summary>
    public static IReadOnlyList<string> Available(RnnOptions? options = null)
    {
        options ??= RnnOptions.Default;
        return Entries.Where(e => e.UnavailableReason(options) is null).Select(e => e.Name).ToArray();
    }

    /// <summary>Null when <paramref name="name"/> can run here, else why not.</summary>
    public static string? UnavailableReason(string name, RnnOptions? options = null)
    {
        options ??= RnnOptions.Default;
        BackendEntry? e = Find(name);
        return e is null ? $"no backend is named '{name}'" : e.UnavailableReason(options);
    }

    /// <summary>The name "auto" resolves to on this machine.</summary>
    public static string ResolveAuto(RnnOptions? options = null)
    {
        options ??= RnnOptions.Default;
        BackendEntry? best = null;
        int bestRank = int.MinValue;
        foreach (BackendEntry e in Entries)
        {
            if (e.UnavailableReason(options) is not null) continue;
            if (e.AutoRank(options) is int rank && rank > bestRank)
            {
                best = e;
                bestRank = rank;
            }
        }
        return best?.Name ?? "reference";
    }

    internal static IRnnBackend Create(RnnOptions options)
    {
        string name = string.IsNullOrWhiteSpace(options.Backend) ? Auto : options.Backend.Trim().ToLowerInvariant();
        if (name == Auto) name = ResolveAuto(options);
        BackendEntry? entry = Find(name);
        if (entry is null)
            throw new RnnBackendUnavailableException(
                $"unknown backend '{options.Backend}'; known: auto, {string.Join(", ", Known)}; available here: {string.Join(", ", Available(options))}");
        string? reason = entry.UnavailableReason(options);
        if (reason is not null)
            throw new RnnBackendUnavailableException(
                $"backend '{name}' is not available on this machine: {reason}; available here: {string.Join(", ", Available(options))}");
        return entry.Create(options);
    }

    private static BackendEntry? Find(string name) => Entries.FirstOrDefault(e => e.Name == name);
}
