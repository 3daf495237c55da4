using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu.Latency;

/// <summary>
/// A float32 weight matrix (R rows, depth K) stored for the latency kernel
/// (<see cref="LatencyGemv{S, TV}"/>). Output vectors cover the rows in PyTorch's order, V at a time
/// (vector j holds rows jV .. jV+V-1; only the last is padded), so the gates of a cell sit one after
/// another (gate g of unit u at row gH + u) with no padding between them: a cell's epilogue reads
/// each gate at its offset with unaligned loads. The vectors are cut into balanced blocks of at most
/// <c>maxBlockVectors</c>; a block is stored k-major, N*V floats per depth, so the kernel reads it as
/// one sequential stream and each k is a column of W: one broadcast input against whole row vectors.
/// Immutable; 64-byte aligned in a pinned array.
/// </summary>
internal sealed unsafe class ColumnMatrix
{
    private readonly float[] _storage;
    private readonly float* _data;
    private readonly nint[] _blockStart;
    private readonly int[] _firstVector;

    /// <summary>Packs float32 <paramref name="weights"/> for vectors of <paramref name="vector"/> floats, in
    /// blocks of at most <paramref name="maxBlockVectors"/> output vectors.</summary>
    public ColumnMatrix(WeightTensor weights, int vector, int maxBlockVectors)
    {
        if (weights.ElementType != WeightElementType.Float32) throw new ArgumentException("the latency kernel reads float32 weights", nameof(weights));
        Rows = weights.Rows;
        Depth = weights.Columns;
        Vector = vector;
        Vectors = (Rows + vector - 1) / vector;
        Blocks = (Vectors + maxBlockVectors - 1) / maxBlockVectors;
        BlockVectors = new int[Blocks];
        _blockStart = new nint[Blocks];
        _firstVector = new int[Blocks];
        nint floats = 0;
        for (int b = 0, first = 0; b < Blocks; b++)
        {
            // Balanced: the first Vectors % Blocks blocks take one vector more.
            BlockVectors[b] = Vectors / Blocks + (b < Vectors % Blocks ? 1 : 0);
            _firstVector[b] = first;
            _blockStart[b] = floats;
            first += BlockVectors[b];
            floats += (nint)BlockVectors[b] * vector * Depth;
        }
        _storage = GC.AllocateArray<float>((int)floats + 16, pinned: true);
        _data = (float*)(((nint)Unsafe.AsPointer(ref _storage[0]) + 63) & ~(nint)63);

        ReadOnlySpan2D<float> w = weights.Float32;
        for (int b = 0; b < Blocks; b++)
        {
            int n = BlockVectors[b];
            float* block = _data + _blockStart[b];
            for (int j = 0; j < n; j++)
                for (int lane = 0; lane < vector; lane++)
                {
                    int row = (_firstVector[b] + j) * vector + lane;
                    if (row >= Rows) break;
                    ReadOnlySpan<float> values = w.GetRowSpan(row);
                    for (int k = 0; k < Depth; k++) block[(nint)k * n * vector + j * vector + lane] = values[k];
                }
        }
    }

    /// <summary>R: outputs.</summary>
    public int Rows { get; }

    /// <summary>K: inputs per output.</summary>
    public int Depth { get; }

    public int Vector { get; }

    /// <summary>Output vectors: ceil(R / V).</summary>
    public int Vectors { get; }

    public int Blocks { get; }

    /// <summary>Output vectors in each block.</summary>
    public int[] BlockVectors { get; }

    /// <summary>Block b's weights: Depth rows of BlockVectors[b] * V floats.</summary>
    public float* Block(int b) => _data + _blockStart[b];

    /// <summary>The matrix back in PyTorch's row order: for a model that needs it on another kernel later
    /// (a batched session's panel products), so the model need not keep a second copy.</summary>
    public WeightTensor ToWeightTensor()
    {
        var values = new float[(long)Rows * Depth];
        for (int b = 0; b < Blocks; b++)
        {
            int n = BlockVectors[b];
            float* block = Block(b);
            for (int j = 0; j < n; j++)
                for (int lane = 0; lane < Vector; lane++)
                {
                    long row = (long)(_firstVector[b] + j) * Vector + lane;
                    if (row >= Rows) break;
                    for (int k = 0; k < Depth; k++) values[row * Depth + k] = block[(nint)k * n * Vector + j * Vector + lane];
                }
        }
        return new WeightTensor(Rows, Depth, values);
    }

    /// <summary>Bytes of weights stored.</summary>
    public long Bytes => (long)Vectors * Vector * Depth * sizeof(float);

    /// <summary><paramref name="rows"/> in a pinned array of whole vectors and one more (the epilogue's
    /// loads at gate offsets may run up to V floats past the last row): a bias where the sums start.</summary>
    public static float[] PinnedRows(ReadOnlySpan<float> rows, int count, int vector)
    {
        float[] padded = GC.AllocateArray<float>(((count + vector - 1) / vector + 1) * vector, pinned: true);
        rows.CopyTo(padded);
        return padded;
    }
}
