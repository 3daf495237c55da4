using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnRuntime.Backends.Cpu;

/// <summary>The vector width a <see cref="CpuBackend"/> compiles its kernels for.</summary>
internal enum CpuVectorWidth
{
    /// <summary>Vector128: the <c>sse</c> backend on x86, <c>neon</c> on ARM64.</summary>
    Vector128,

    /// <summary>Vector256 + FMA: the <c>avx2</c> backend.</summary>
    Vector256,

    /// <summary>Vector512: the <c>avx512</c> backend.</summary>
    Vector512,
}

/// <summary>
/// The hand-tuned CPU backends, <c>sse</c> / <c>neon</c>, <c>avx2</c> and <c>avx512</c>: the same kernels
/// (packed weights, register-tiled products, fused cell epilogues) compiled for 4, 8 or 16 floats per vector.
/// The registry only offers a width the JIT accelerates here; tests construct either width directly,
/// which runs the Vector512 kernels in software on machines without AVX-512.
/// </summary>
internal sealed class CpuBackend : IRnnBackend
{
    public const string Avx2Name = "avx2";
    public const string Avx512Name = "avx512";
    public const string SseName = "sse";
    public const string NeonName = "neon";

    /// <summary>The Vector128 backend's name on this machine: neon on ARM64, sse elsewhere.</summary>
    public static string Vector128Name => System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? NeonName : SseName;

    public CpuBackend(CpuVectorWidth width)
    {
        Width = width;
    }

    public CpuVectorWidth Width { get; }

    public string Name => Width switch
    {
        CpuVectorWidth.Vector128 => Vector128Name,
        CpuVectorWidth.Vector256 => Avx2Name,
        _ => Avx512Name,
    };

    public IPreparedRnn Prepare(RnnModel model) => Width switch
    {
        CpuVectorWidth.Vector128 => new CpuNetwork<Simd128, Vector128<float>>(model),
        CpuVectorWidth.Vector256 => new CpuNetwork<Simd256, Vector256<float>>(model),
        _ => new CpuNetwork<Simd512, Vector512<float>>(model),
    };

    /// <summary>Null when <paramref name="name"/> ("sse" or "neon") is this machine's Vector128 backend and the JIT accelerates Vector128, else why not.</summary>
    public static string? Vector128UnavailableReason(string name)
    {
        bool arm = System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;
        if (name == NeonName && !arm) return "neon runs on ARM64 only (this process has no AdvSimd); on x86 the Vector128 backend is sse";
        if (name == SseName && (arm || !Sse2.IsSupported)) return "sse runs on x86 only (this process has no SSE2); on ARM64 the Vector128 backend is neon";
        return Vector128.IsHardwareAccelerated ? null : "Vector128 is not hardware accelerated in this process (Vector128.IsHardwareAccelerated is false: DOTNET_EnableHWIntrinsic=0?)";
    }

    /// <summary>Every weight matrix is packed into a <see cref="PackedMatrix"/>; nothing reads the tensors afterwards.</summary>
    public bool HoldsOwnWeights => true;

    public void Dispose() { }

    /// <summary>Null when the JIT accelerates Vector256 with AVX2 and FMA, else why not.</summary>
    public static string? Avx2UnavailableReason()
    {
        if (Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated) return null;
        if (!Vector256.IsHardwareAccelerated && !Avx2.IsSupported)
            return "this process has no AVX2 (Avx2.IsSupported is false: the CPU lacks it, DOTNET_EnableAVX2=0 or DOTNET_EnableHWIntrinsic=0 turned it off, or this is a baseline NativeAOT build)";
        if (!Fma.IsSupported) return "this process has no FMA (Fma.IsSupported is false)";
        return "Vector256 is not hardware accelerated in this process (Vector256.IsHardwareAccelerated is false)";
    }

    /// <summary>Null when the JIT accelerates Vector512, else why not.</summary>
    public static string? Avx512UnavailableReason() => Vector512.IsHardwareAccelerated
        ? null
        : "this CPU has no AVX-512, or it is switched off (Vector512.IsHardwareAccelerated is false)";
}
