using System.Collections.Concurrent;
using RnnRuntime.Model;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// One single-layer, unidirectional model of the suite (input = hidden), made from a fixed seed with
/// weights drawn U(-k, k), k = 1.5/sqrt(H): well-conditioned, so a peer's outputs can be compared
/// with the reference's after 100 steps. Keeps the PyTorch-layout arrays for the peers.
/// </summary>
public sealed class BenchModel : IBenchSubject
{
    public const int Seed = 20261127;

    private static readonly ConcurrentDictionary<(RnnCellKind, int, int), BenchModel> Cache = new();

    private BenchModel(RnnCellKind cell, int hidden, int input)
    {
        Cell = cell;
        Hidden = hidden;
        Input = input;
        int rows = cell.GateCount() * hidden;
        var rng = new Random(Seed + 31 * hidden + 7 * input + (int)cell);
        float k = 1.5f / MathF.Sqrt(hidden);
        float[] Draw(int n)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * k);
            return a;
        }
        WeightIh = Draw(rows * Input);
        WeightHh = Draw(rows * hidden);
        BiasIh = Draw(rows);
        BiasHh = Draw(rows);
        Safetensors = SafetensorsWriter.Write(
        [
            ("weight_ih_l0", [rows, Input], WeightIh),
            ("weight_hh_l0", [rows, hidden], WeightHh),
            ("bias_ih_l0", [rows], BiasIh),
            ("bias_hh_l0", [rows], BiasHh),
        ]);
    }

    /// <summary>The suite's model; <paramref name="input"/> defaults to the hidden size.</summary>
    public static BenchModel Get(RnnCellKind cell, int hidden, int input = 0) =>
        Cache.GetOrAdd((cell, hidden, input > 0 ? input : hidden), k => new BenchModel(k.Item1, k.Item2, k.Item3));

    public RnnCellKind Cell { get; }
    public int Hidden { get; }
    public int Input { get; }
    public int Gates => Cell.GateCount();
    public int Rows => Gates * Hidden;
    public float[] WeightIh { get; }
    public float[] WeightHh { get; }
    public float[] BiasIh { get; }
    public float[] BiasHh { get; }
    public byte[] Safetensors { get; }

    /// <summary>A plain state_dict of one module: no layer list.</summary>
    public IReadOnlyList<string>? Layers => null;

    /// <summary>Outputs per step and batch item: the hidden state.</summary>
    public int Output => Hidden;

    /// <summary>Bytes a batch-1 step must read: both weight matrices and both biases, float32.</summary>
    public long WeightBytes => 4L * (WeightIh.Length + WeightHh.Length + BiasIh.Length + BiasHh.Length);

    /// <summary>Bytes of the recurrent matrix alone (what each step of a hoisted Run reads).</summary>
    public long RecurrentBytes => 4L * (WeightHh.Length + BiasHh.Length);

    /// <summary>FLOPs of one step for one batch item: two matrix-vector products (2 per weight).</summary>
    public double StepFlops => 2.0 * Rows * (Input + Hidden);

    /// <summary>FLOPs of the input projection of one step for one batch item.</summary>
    public double InputProjectionFlops => 2.0 * Rows * Input;

    /// <summary>FLOPs of the recurrent product of one step for one batch item.</summary>
    public double RecurrentFlops => 2.0 * Rows * Hidden;

    /// <summary>Seeded inputs in [-1, 1): [T, B, I].</summary>
    public float[] Inputs(int steps, int batch)
    {
        var rng = new Random(Seed ^ (steps * 7919 + batch * 104729 + Hidden + 31 * Input));
        var xs = GC.AllocateArray<float>(steps * batch * Input, pinned: true);
        for (int i = 0; i < xs.Length; i++) xs[i] = (float)(rng.NextDouble() * 2 - 1);
        return xs;
    }

    public override string ToString() => Input == Hidden ? $"{Cell.Name()} h{Hidden}" : $"{Cell.Name()} h{Hidden} i{Input}";
}
