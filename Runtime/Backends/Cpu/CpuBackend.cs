using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnRuntime.Backends.Cpu;

/// <summary>The vector width a <see cref="CpuBackend"/> compiles its kernels for.</summary>
internal enum CpuVectorWidth
{
    /// <summary>Vector256 + FMA: the <c>avx2</c> backend.</summary>
    Vector256,

    /// <summary>Vector512: the <c>avx512</c> backend.</summary>
    Vector512,
}

/// <summary>
/// The hand-tuned CPU backends, <c>avx2</c> and <c>avx512</c>: the same kernels (packed weights,
/// register-tiled products, fused cell epilogues) compiled for 8 or 16 floats per vector.
/// The registry only offers a width the JIT accelerates here; tests construct either width directly,
/// which runs the Vector512 kernels in software on machines without AVX-512.
/// </summary>
internal sealed class CpuBackend : IRnnBackend
{
    public const string Avx2Name = "avx2";
    public const string Avx512Name = "avx512";

    public CpuBackend(CpuVectorWidth width)
    {
        Width = width;
    }

    public CpuVectorWidth Width { get; }

    public string Name => Width == CpuVectorWidth.Vector256 ? Avx2Name : Avx512Name;

    public IPreparedRnn Prepare(RnnModel model) => Width == CpuVectorWidth.Vector256
        ? new CpuNetwork<Simd256, Vector256<float>>(model)
        : new CpuNetwork<Simd512, Vector512<float>>(model);

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
