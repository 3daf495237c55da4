using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// One weight matrix (W_ih or W_hh of one layer and direction of a recurrent module, or a linear
/// layer's W, which is the same thing with G = 1) packed once, at prepare time, into the order the
/// kernel streams it.
/// <para>
/// Output columns are counted in vectors of V floats: column vector c holds gate g = c % G of the V
/// hidden units of group q = c / G (units q*V .. q*V+V-1, zero past H), so the G gates of a group of
/// units sit side by side and the cell epilogue can finish the group as soon as its G columns are
/// summed. The column count is padded to even with one zero column where needed.
/// </para>
/// <para>
/// Columns are cut into panels of <see cref="PanelWidth"/> vectors (the last one may be narrower).
/// A panel is stored k-major: for k = 0..K-1, one row of width*V weights of input k. The batch-1
/// kernel reads a panel as one sequential stream (256 B per k with AVX2), one broadcast input feeding
/// 8 accumulators; the many-rows kernel works on column strips of a panel (2 vectors with AVX2, 4
/// with AVX-512), a depth block at a time.
/// </para>
/// <para>
/// Panels, not 2-vector strips, are contiguous because the batch-1 step, what this runtime is for,
/// wants one stream per panel (strips were faster only for many rows; BENCHMARKS.md, "Kernel notes").
/// </para>
/// <para>
/// The elements are float32, bfloat16 or int8 (the <see cref="WeightTensor"/>'s type), so a narrow
/// matrix streams 2x or 4x fewer bytes. Float32 and bfloat16 share the layout above (bfloat16 is
/// widened in registers); int8 stores the depth in pairs for <see cref="MatMulTileInt8{S, TV}"/>: each
/// pair row of a panel is 2 * width * V bytes, a column vector's V lanes x 2 depths side by side (what
/// vpmaddwd sums), the depth padded to even with a zero. An int8 matrix also holds one float32 scale
/// per output (in column-vector order, like the bias): its kernel sums q * x from zero and finishes
/// with fma(sum, scale * s_x, bias).
/// </para>
/// 64-byte aligned inside an array on the pinned object heap: it never moves, so the kernels take raw
/// pointers, and the GC reclaims it like any array even when nobody disposes the model.
/// Immutable after construction; shared by every session.
/// </summary>
internal sealed unsafe class PackedMatrix : IDisposable
{
    /// <summary>Column vectors per panel: 8 accumulators per batch row in the batch-1 kernel.</summary>
    public const int PanelWidth = 8;

    private byte[]? _storage;
    private readonly byte* _data;

    /// <summary>Packs <paramref name="weights"/> (G*H rows of <paramref name="gates"/> blocks of <paramref name="hidden"/>)
    /// for vectors of <paramref name="vector"/> floats; <paramref name="bias"/>: G*H floats in PyTorch row order (where
    /// the sums start), or empty for zeros.</summary>
    public PackedMatrix(WeightTensor weights, ReadOnlySpan<float> bias, int gates, int hidden, int vector)
    {
        int rows = weights.Rows, k = weights.Columns;
        if (rows != gates * hidden) throw new ArgumentException($"expected {gates * hidden} rows, got {rows}", nameof(weights));
        if (!bias.IsEmpty && bias.Length != rows) throw new ArgumentException($"expected {rows} bias values, got {bias.Length}", nameof(bias));
        ElementType = weights.ElementType;
        ElementSize = ElementType switch { WeightElementType.BFloat16 => 2, WeightElementType.Int8 => 1, _ => 4 };
        Depth = k;
        StoredDepth = ElementType == WeightElementType.Int8 ? (k + 1) & ~1 : k;
        Vector = vector;
        Groups = (hidden + vector - 1) / vector;
        Columns = Groups * gates;
        PaddedColumns = (Columns + 1) & ~1;
        Panels = (PaddedColumns + PanelWidth - 1) / PanelWidth;
        long sums = (long)PaddedColumns * vector;
        _weightBytes = ((sums * StoredDepth * ElementSize) + 63) & ~63L;
        long bytes = _weightBytes + 4 * sums * (ElementType == WeightElementType.Int8 ? 2 : 1);
        if (bytes + 64 > Array.MaxLength) throw new OutOfMemoryException($"{rows} x {k} weights are too large to pack ({bytes} bytes)");
        _storage = GC.AllocateArray<byte>((int)bytes + 64, pinned: true);   // zeroed: padding stays 0
        nint start = (nint)Unsafe.AsPointer(ref _storage[0]);
        _data = (byte*)((start + 63) & ~(nint)63);

        for (int c = 0; c < Columns; c++)
        {
            int q = c / gates, g = c % gates;
            int p = c / PanelWidth;
            nint column = (c % PanelWidth / 2) * SliceStride(p) + (c % 2) * vector;   // elements from the panel's start
            nint depthStride = DepthStride(p);
            for (int lane = 0; lane < vector && q * vector + lane < hidden; lane++)
            {
                int row = g * hidden + q * vector + lane;
                nint at = column + lane;
                switch (ElementType)
                {
                    case WeightElementType.Float32:
                    {
                        ReadOnlySpan<float> w = weights.Float32.GetRowSpan(row);
                        float* dst = (float*)Panel(p);
                        for (int kk = 0; kk < k; kk++) dst[kk * depthStride + at] = w[kk];
                        break;
                    }
                    case WeightElementType.BFloat16:
                    {
                        ReadOnlySpan<ushort> w = weights.BFloat16.GetRowSpan(row);
                        ushort* dst = (ushort*)Panel(p);
                        for (int kk = 0; kk < k; kk++) dst[kk * depthStride + at] = w[kk];
                        break;
                    }
                    default:
                    {
                        ReadOnlySpan<sbyte> w = weights.Int8.GetRowSpan(row);
                        sbyte* dst = (sbyte*)Panel(p);
                        // Pair row k/2 holds, per column vector, its V lanes x (k even, k odd): 2V bytes.
                        nint pairColumn = (c % PanelWidth / 2) * 4 * vector + (c % 2) * 2 * vector + 2 * lane;
                        for (int kk = 0; kk < k; kk++) dst[(kk / 2) * 2 * depthStride + pairColumn + kk % 2] = w[kk];
                        Scale[c * vector + lane] = weights.Int8Scales[row];
                        break;
                    }
                }
                if (!bias.IsEmpty) Bias[c * vector + lane] = bias[row];
            }
        }
    }

    private readonly long _weightBytes;

    /// <summary>Depths stored: K, or for int8 K rounded up to even (the pair layout).</summary>
    public int StoredDepth { get; }

    /// <summary>How the weights are stored: float32, bfloat16 or int8.</summary>
    public WeightElementType ElementType { get; }

    /// <summary>Bytes per weight: 4, 2 or 1.</summary>
    public int ElementSize { get; }

    /// <summary>K: inputs per output (columns of the PyTorch matrix).</summary>
    public int Depth { get; }

    /// <summary>V: floats per vector.</summary>
    public int Vector { get; }

    /// <summary>Groups of V hidden units: ceil(H / V).</summary>
    public int Groups { get; }

    /// <summary>Column vectors that carry gates: G * Groups.</summary>
    public int Columns { get; }

    /// <summary>Columns rounded up to even: the width of a row of sums, in vectors.</summary>
    public int PaddedColumns { get; }

    public int Panels { get; }

    /// <summary>Elements from one 2-vector slice of panel p to the next (within one depth row).</summary>
    public nint SliceStride(int p) => 2 * Vector;

    /// <summary>Elements from depth k to k+1 in panel p: one row of the panel.</summary>
    public nint DepthStride(int p) => (nint)WidthOf(p) * Vector;

    /// <summary>Column vectors in panel <paramref name="p"/> (even).</summary>
    public int WidthOf(int p) => Math.Min(PanelWidth, PaddedColumns - p * PanelWidth);

    /// <summary>Start of panel <paramref name="p"/>: every panel before it is full width.</summary>
    public byte* Panel(int p) => _data + (nint)p * PanelWidth * Vector * StoredDepth * ElementSize;

    /// <summary>The bias, PaddedColumns*V floats in column-vector order: where float32 and bfloat16 sums start, what int8 sums end with.</summary>
    public float* Bias => (float*)(_data + (nint)_weightBytes);

    /// <summary>An int8 matrix's per-output scales, PaddedColumns*V floats in column-vector order (0 in padding).</summary>
    public float* Scale => Bias + (nint)PaddedColumns * Vector;

    /// <summary>Lets the GC have the weights; no session may run on this matrix afterwards.</summary>
    public void Dispose() => _storage = null;
}
