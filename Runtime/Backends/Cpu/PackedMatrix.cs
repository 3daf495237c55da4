using System.Runtime.InteropServices;
using CommunityToolkit.HighPerformance;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// One weight matrix (W_ih or W_hh of one layer and direction) packed once, at prepare time, into the
/// order the kernel streams it.
/// <para>
/// Output columns are counted in vectors of V floats: column vector c holds gate g = c % G of the V
/// hidden units of group q = c / G (units q*V .. q*V+V-1, zero-padded past H). So the G gates of one
/// group of units sit side by side and the cell's epilogue can finish a group as soon as its G
/// columns are summed. Columns are cut into panels of <see cref="PanelWidth"/> vectors (the last one
/// narrower); a panel is stored k-major: for k = 0..K-1 the panel's width*V weights of input k, so the
/// kernel reads each panel as one contiguous stream, one broadcast input feeding every accumulator.
/// </para>
/// Native, 64-byte aligned, immutable after construction; shared by every session.
/// </summary>
internal sealed unsafe class PackedMatrix : IDisposable
{
    /// <summary>Column vectors per panel: 8 accumulators per batch row in the batch-1 kernel.</summary>
    public const int PanelWidth = 8;

    private float* _data;

    /// <param name="bias">G*H floats in PyTorch row order (what the sums start from), or empty for zero.</param>
    public PackedMatrix(ReadOnlySpan2D<float> weights, ReadOnlySpan<float> bias, int gates, int hidden, int vector)
    {
        int rows = weights.Height, k = weights.Width;
        if (rows != gates * hidden) throw new ArgumentException($"expected {gates * hidden} rows, got {rows}", nameof(weights));
        Depth = k;
        Vector = vector;
        Groups = (hidden + vector - 1) / vector;
        Columns = Groups * gates;
        Panels = (Columns + PanelWidth - 1) / PanelWidth;
        nuint floats = (nuint)((long)Columns * vector * (k + 1));
        _data = (float*)NativeMemory.AlignedAlloc(floats * sizeof(float), 64);
        if (_data == null) throw new OutOfMemoryException($"could not allocate {floats * sizeof(float)} bytes for packed weights");
        NativeMemory.Clear(_data, floats * sizeof(float));

        for (int p = 0; p < Panels; p++)
        {
            int first = p * PanelWidth, width = WidthOf(p);
            float* panel = Panel(p);
            for (int cl = 0; cl < width; cl++)
            {
                int c = first + cl, q = c / gates, g = c % gates;
                for (int lane = 0; lane < vector; lane++)
                {
                    int unit = q * vector + lane;
                    if (unit >= hidden) break;
                    ReadOnlySpan<float> row = weights.GetRowSpan(g * hidden + unit);
                    for (int kk = 0; kk < k; kk++) panel[((nint)kk * width + cl) * vector + lane] = row[kk];
                }
            }
        }

        if (!bias.IsEmpty)
        {
            if (bias.Length != rows) throw new ArgumentException($"expected {rows} bias values, got {bias.Length}", nameof(bias));
            for (int c = 0; c < Columns; c++)
            {
                int q = c / gates, g = c % gates;
                for (int lane = 0; lane < vector && q * vector + lane < hidden; lane++)
                    Bias[c * vector + lane] = bias[g * hidden + q * vector + lane];
            }
        }
    }

    /// <summary>K: inputs per output (columns of the PyTorch matrix).</summary>
    public int Depth { get; }

    /// <summary>V: floats per vector.</summary>
    public int Vector { get; }

    /// <summary>Groups of V hidden units: ceil(H / V).</summary>
    public int Groups { get; }

    /// <summary>Column vectors: G * Groups.</summary>
    public int Columns { get; }

    public int Panels { get; }

    /// <summary>Column vectors in panel <paramref name="p"/>.</summary>
    public int WidthOf(int p) => Math.Min(PanelWidth, Columns - p * PanelWidth);

    /// <summary>Start of panel <paramref name="p"/>: every panel before it is full width.</summary>
    public float* Panel(int p) => _data + (nint)p * PanelWidth * Vector * Depth;

    /// <summary>The accumulators' starting values, Columns*V floats in column-vector order.</summary>
    public float* Bias => _data + (nint)Columns * Vector * Depth;

    public void Dispose()
    {
        float* p = _data;
        _data = null;
        if (p != null) NativeMemory.AlignedFree(p);
    }
}
