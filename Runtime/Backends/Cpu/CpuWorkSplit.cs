namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// How a product over a <see cref="PackedMatrix"/> is cut into parts for a session's threads: by
/// contiguous ranges of panels, each part always the same range for the same matrix and rows (so at
/// batch 1 each core streams its own slice of the weights, which can stay in its L2 from one step to
/// the next), and never so small that the hand-off costs more than the part.
/// <para>
/// Bit-identity: a part computes whole panels with the same <see cref="MatMulTile{S, TV}.Panel(PackedMatrix, int, in PanelInput, int, float*, nint)"/>
/// call the one-thread path makes (same rows, same depth order k = 0..K-1 from the same bias), and a
/// column's sum depends on nothing outside its panel. Which thread runs a panel, and in which order
/// panels run, changes no rounding, so threaded results equal Threads = 1's of the same backend exactly.
/// </para>
/// </summary>
internal static class CpuWorkSplit
{
    /// <summary>
    /// The least work worth a part of its own, in <see cref="Work(long, long)"/> units: 64 K weights at
    /// batch 1, fewer per row at bigger batches. Below it the hand-off (waking a spinning worker,
    /// moving the rows of state between the cores, waiting for the slower half) costs more than the
    /// time saved. Each session copies it when it is made
    /// (<see cref="CpuState.MinWorkPerPart"/>; tests lower it there to split even tiny products).
    /// </summary>
    public const long DefaultMinWorkPerPart = 64 * 1024 * (1 + ReadCost);

    /// <summary>
    /// What reading one weight costs, in multiply-adds on one row: 4 bytes from L2/L3 against 2 FLOPs,
    /// at this machine's bandwidth and FMA peak, rounded up (BENCHMARKS.md, "Kernel notes").
    /// </summary>
    private const long ReadCost = 3;

    /// <summary>
    /// Panels per indivisible unit of a recurrent matrix: the fewest whole panels that end on a group
    /// boundary (a column index divisible by the gate count G), so every part owns whole groups of
    /// hidden units and can run their cell epilogue itself. G = 1 or 4: 1 panel; G = 3: 3 panels.
    /// </summary>
    public static int GroupAlignedPanels(int gates)
    {
        int a = PackedMatrix.PanelWidth, b = gates;
        while (b != 0) (a, b) = (b, a % b);
        return gates / a;
    }

    /// <summary>Parts for <paramref name="work"/> over <paramref name="units"/> indivisible units, at most <paramref name="maxParts"/>.</summary>
    public static int Parts(int maxParts, int units, long work, long minWorkPerPart)
    {
        long byWork = work / minWorkPerPart;
        return (int)Math.Max(1, Math.Min(Math.Min(maxParts, units), byWork));
    }

    /// <summary>Units of <paramref name="unitPanels"/> panels in a matrix of <paramref name="panels"/> (the last may be short).</summary>
    public static int Units(int panels, int unitPanels) => (panels + unitPanels - 1) / unitPanels;

    /// <summary>Panels [From, To) of part <paramref name="part"/> of <paramref name="parts"/>: units dealt out as evenly as they go.</summary>
    public static (int From, int To) Range(int panels, int unitPanels, int part, int parts)
    {
        int units = Units(panels, unitPanels);
        int u0 = (int)((long)units * part / parts), u1 = (int)((long)units * (part + 1) / parts);
        return (u0 * unitPanels, Math.Min(panels, u1 * unitPanels));
    }

    /// <summary>
    /// Work of one product over <paramref name="rows"/> rows: its multiply-adds plus the cost of reading
    /// its weights once: at batch 1 a weight costs a 4-byte load, at batch 16 a sixteenth of that per
    /// row, and counting only multiply-adds split small batched steps that were faster whole.
    /// </summary>
    public static long Work(PackedMatrix m, long rows) => Work((long)m.Depth * m.PaddedColumns * m.Vector, rows);

    /// <summary><paramref name="weights"/> x (rows + the read cost).</summary>
    public static long Work(long weights, long rows) => weights * (rows + ReadCost);
}

/// <summary>
/// A product out = bias + x W over every panel of one matrix, its panels split across the session's
/// threads (any split: nothing follows the product inside the part). Run's hoisted input projections
/// and linear layers with many panels go through it. One shared instance per width.
/// </summary>
internal sealed unsafe class CpuPanelProduct<S, TV> : ICpuPartJob where S : ISimd<TV> where TV : struct
{
    public static readonly CpuPanelProduct<S, TV> Instance = new();

    /// <summary>Every panel of <paramref name="m"/> for <paramref name="rows"/> rows: on the calling thread
    /// when the product is too small to share, else in parts.</summary>
    public static void Run(CpuState s, PackedMatrix m, float* x, nint xStride, int rows, float* o, nint oStride)
    {
        int parts = s.PartsFor(m.Panels, CpuWorkSplit.Work(m, rows));
        PanelInput input = MatMulTile<S, TV>.Input(s, m, x, xStride, rows);
        if (parts == 1)
        {
            for (int p = 0; p < m.Panels; p++) MatMulTile<S, TV>.Panel(m, p, input, rows, o, oStride);
            return;
        }
        s.Product = new CpuState.ProductCall(m, input, rows, o, oStride);
        s.Workers!.Run(s, Instance, parts);
        s.Product = default;
    }

    public void RunPart(CpuState s, int part, int parts)
    {
        CpuState.ProductCall c = s.Product;
        (int from, int to) = CpuWorkSplit.Range(c.M.Panels, 1, part, parts);
        for (int p = from; p < to; p++) MatMulTile<S, TV>.Panel(c.M, p, c.X, c.Rows, c.O, c.OStride);
    }
}
