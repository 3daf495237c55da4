using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnRuntime.Backends.Cpu.Latency;

/// <summary>
/// Short copies for the latency kernels, whose rows are a few vectors long: whole vectors, then the
/// last partial one with a masked load and store where the CPU has them (AVX-512F, AVX), which never
/// touch memory past the count, so no call to memmove per row and no read past a buffer's end.
/// </summary>
internal static unsafe class PartialVector<S, TV> where S : ISimd<TV> where TV : struct
{
    /// <summary>dst[0..n) = src[0..n); the two do not overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(float* src, float* dst, int n)
    {
        int V = S.Count, i = 0;
        for (; i + V <= n; i += V) S.Store(dst + i, S.Load(src + i));
        if (i < n) CopyTail(src + i, dst + i, n - i);
    }

    /// <summary>dst[0..n) = src[0..n) for n &lt; V.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyTail(float* src, float* dst, int n)
    {
        if (typeof(TV) == typeof(Vector512<float>) && Avx512F.IsSupported)
        {
            Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(n)).AsSingle();
            Avx512F.MaskStore(dst, mask, Avx512F.MaskLoad(src, mask, Vector512<float>.Zero));
        }
        else if (typeof(TV) == typeof(Vector256<float>) && Avx.IsSupported)
        {
            Vector256<float> mask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(n)).AsSingle();
            Avx.MaskStore(dst, mask, Avx.MaskLoad(src, mask));
        }
        else if (typeof(TV) == typeof(Vector128<float>) && Avx.IsSupported)
        {
            Vector128<float> mask = Vector128.LessThan(Vector128<int>.Indices, Vector128.Create(n)).AsSingle();
            Avx.MaskStore(dst, mask, Avx.MaskLoad(src, mask));
        }
        else
            for (int i = 0; i < n; i++) dst[i] = src[i];
    }
}
