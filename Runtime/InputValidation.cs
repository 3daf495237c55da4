using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RnnRuntime;

/// <summary>Checks on what users hand in, before anything is computed, so a bad call changes no state.</summary>
internal static class InputValidation
{
    /// <summary>Index of the first NaN or infinity, or -1. x - x is 0 for finite x and NaN otherwise.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        ref float r = ref MemoryMarshal.GetReference(values);
        int i = 0;
        if (Vector256.IsHardwareAccelerated && values.Length >= Vector256<float>.Count)
        {
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> v = Vector256.LoadUnsafe(ref r, (nuint)i);
                if (!Vector256.EqualsAll(v - v, Vector256<float>.Zero)) break;
            }
        }
        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(Unsafe.Add(ref r, i))) return i;
        }
        return -1;
    }

    public static void ThrowIfNonFinite(ReadOnlySpan<float> values, string paramName)
    {
        int bad = IndexOfNonFinite(values);
        if (bad >= 0)
            throw new ArgumentException($"{paramName}[{bad}] is {values[bad]}; inputs must be finite", paramName);
    }

}
