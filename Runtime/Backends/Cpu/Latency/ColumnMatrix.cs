using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu.Latency;

/// <summary>
/// A float32 weight matrix (G*H rows of G gate blocks, depth K) stored for the latency kernel
/// (<see cref="LatencyGemv{S, TV}"/>). Output vectors follow the packed gate order of
/// <see cref="PackedMatrix"/> (vector j = G * group + gate; lanes past H are zero), so a cell
/// epilogue finishes a group from G adjacent vectors. The vectors are cut into blocks of whole groups,
/// at most <c>groupsPerBlock</c> each; a block is stored k-major, N*V floats per depth, so the kernel
/// reads it as one sequential stream, and each k is a column of W: one broadcast h[k] against whole
/// gate vectors. Immutable; 64-byte aligned in a pinned array.
/// </summary>
internal sealed unsafe class ColumnMatrix
{
    private readonly float[] _storage;
    private readonly float* _data;
    private readonly nint[] _blockStart;
    private readonly int _gates, _hidden, _perBlock;

    /// <summary>Packs float32 <paramref name="weights"/> (<paramref name="gates"/> * <paramref name="hidden"/> rows) for vectors of
    /// <paramref name="vector"/> floats, at most <paramref name="groupsPerBlock"/> groups of units per block.</summary>
    public ColumnMatrix(WeightTensor weights, int gates, int hidden, int vector, int groupsPerBlock)
    {
        if (weights.ElementType != WeightElementType.Float32) throw new ArgumentException("the latency kernel reads float32 weights", nameof(weights));
        if (weights.Rows != gates * hidden) throw new ArgumentException($"expected {gates * hidden} rows, got {weights.Rows}", nameof(weights));
        Depth = weights.Columns;
        Vector = vector;
        _gates = gates;
        _hidden = hidden;
        _perBlock = Math.Max(1, groupsPerBlock);
        Groups = (hidden + vector - 1) / vector;
        Vectors = Groups * gates;
        int perBlock = Math.Max(1, groupsPerBlock);
        Blocks = (Groups + perBlock - 1) / perBlock;
        BlockVectors = new int[Blocks];
        _blockStart = new nint[Blocks];
        nint floats = 0;
        for (int b = 0; b < Blocks; b++)
        {
            BlockVectors[b] = Math.Min(perBlock, Groups - b * perBlock) * gates;
            _blockStart[b] = floats;
            floats += (nint)BlockVectors[b] * vector * Depth;
        }
        _storage = GC.AllocateArray<float>((int)floats + 16, pinned: true);
        _data = (float*)(((nint)Unsafe.AsPointer(ref _storage[0]) + 63) & ~(nint)63);

        ReadOnlySpan2D<float> w = weights.Float32;
        for (int b = 0; b < Blocks; b++)
        {
            int n = BlockVectors[b], first = b * perBlock * gates;
            float* block = _data + _blockStart[b];
            for (int j = 0; j < n; j++)
            {
                int c = first + j, q = c / gates, g = c % gates;
                for (int lane = 0; lane < vector && q * vector + lane < hidden; lane++)
                {
                    ReadOnlySpan<float> row = w.GetRowSpan(g * hidden + q * vector + lane);
                    for (int k = 0; k < Depth; k++) block[(nint)k * n * vector + j * vector + lane] = row[k];
                }
            }
        }
    }

    /// <summary>K: inputs per output.</summary>
    public int Depth { get; }

    public int Vector { get; }

    /// <summary>Groups of V hidden units.</summary>
    public int Groups { get; }

    /// <summary>Output vectors: G * Groups.</summary>
    public int Vectors { get; }

    public int Blocks { get; }

    /// <summary>Output vectors in each block.</summary>
    public int[] BlockVectors { get; }

    /// <summary>Block b's weights: Depth rows of BlockVectors[b] * V floats.</summary>
    public float* Block(int b) => _data + _blockStart[b];

    /// <summary>The matrix back in PyTorch's row order (G*H rows, depth K): for a model that needs it on
    /// another kernel later (a batched session's panel products), so the model need not keep a second copy.</summary>
    public WeightTensor ToWeightTensor()
    {
        var values = new float[(long)_gates * _hidden * Depth];
        for (int b = 0; b < Blocks; b++)
        {
            int n = BlockVectors[b], first = b * _perBlock * _gates;
            float* block = Block(b);
            for (int j = 0; j < n; j++)
            {
                int c = first + j, q = c / _gates, g = c % _gates;
                for (int lane = 0; lane < Vector && q * Vector + lane < _hidden; lane++)
                {
                    long row = (long)g * _hidden + q * Vector + lane;
                    for (int k = 0; k < Depth; k++) values[row * Depth + k] = block[(nint)k * n * Vector + j * Vector + lane];
                }
            }
        }
        return new WeightTensor(_gates * _hidden, Depth, values);
    }

    /// <summary>Bytes of weights stored.</summary>
    public long Bytes => (long)Vectors * Vector * Depth * sizeof(float);
}

/// <summary>Floats in packed gate order (vector j = G * group + gate), zero past H: biases for the latency kernel.</summary>
internal static class GateOrder
{
    public static float[] Pack(ReadOnlySpan<float> rows, int gates, int hidden, int vector)
    {
        int groups = (hidden + vector - 1) / vector;
        var packed = new float[groups * gates * vector + vector];
        if (rows.IsEmpty) return packed;
        for (int q = 0; q < groups; q++)
            for (int g = 0; g < gates; g++)
                for (int lane = 0; lane < vector && q * vector + lane < hidden; lane++)
                    packed[(q * gates + g) * vector + lane] = rows[g * hidden + q * vector + lane];
        return packed;
    }
}
