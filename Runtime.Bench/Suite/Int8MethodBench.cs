using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Reports;
using RnnRuntime.Backends.Cpu;
using RnnRuntime.Model;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// The int8 product against float32 and bfloat16, measured on one batch-1 product y = W x + b (W: 3H
/// x H, a GRU's W_hh) with 512-bit vectors, each through the kernel the backends run, the way a step
/// calls it (the input prepared once, then every panel). <c>int16-madd</c> is the integer method of
/// <see cref="MatMulTileInt8{S, TV}"/>: x quantised per product (dynamic, symmetric) to int16, inside
/// the timed call, and vpmaddwd summing two k per int32 lane (32 MACs per instruction). VNNI's
/// vpdpbusd (u8 x s8, 4 k per lane) would be the same idea with 8-bit activations; .NET 10 exposes it
/// only as AvxVnni (the VEX encoding), which this Zen 5 does not report, and has no AVX512-VNNI class.
/// <para>
/// The alternative it was chosen over, widening int8 to float32 and FMA (<c>widen-fma</c>), lost
/// (BENCHMARKS.md, "Which int8 method won") and is no longer in the runtime.
/// </para>
/// </summary>
[Config(typeof(SuiteConfig))]
public unsafe class Int8MethodBench
{
    [Params(256, 1024)]
    public int Hidden { get; set; }

    [Params("float32", "bfloat16", "int16-madd")]
    public string Method { get; set; } = "";

    private PackedMatrix? _packed;
    private float* _x, _y, _sx;
    private short* _xq;

    [GlobalSetup]
    public void Setup()
    {
        int rows = 3 * Hidden, depth = Hidden;
        var rng = new Random(7);
        float k = 1.5f / MathF.Sqrt(Hidden);
        var w = new float[rows * depth];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() * 2 - 1) * k;
        var bias = new float[rows];
        for (int i = 0; i < bias.Length; i++) bias[i] = (float)(rng.NextDouble() * 2 - 1) * k;
        _x = Alloc<float>(depth);
        for (int i = 0; i < depth; i++) _x[i] = (float)(rng.NextDouble() * 2 - 1);

        var f32 = new WeightTensor(rows, depth, w);
        WeightTensor tensor = Method switch
        {
            "bfloat16" => f32.ConvertTo(WeightElementType.BFloat16, "w"),
            "float32" => f32,
            _ => f32.ConvertTo(WeightElementType.Int8, "w"),
        };
        _packed = new PackedMatrix(tensor, bias, gates: 3, hidden: Hidden, vector: 16);
        _y = Alloc<float>((nint)_packed.PaddedColumns * 16);
        _xq = Alloc<short>(_packed.StoredDepth);
        _sx = Alloc<float>(1);
        if (Method != "int16-madd") return;

        // Check the integer kernel against the reference (which quantises x the same way) before timing it.
        Product();
        for (int c = 0; c < _packed.Columns; c++)
            for (int lane = 0; lane < 16; lane++)
            {
                int unit = c / 3 * 16 + lane;
                if (unit >= Hidden) continue;
                int row = c % 3 * Hidden + unit;
                double expected = bias[row] + tensor.Dot(row, new ReadOnlySpan<float>(_x, depth));
                if (Math.Abs(_y[c * 16 + lane] - expected) > 1e-3)
                    throw new InvalidOperationException($"int16-madd disagrees at output {row}: {_y[c * 16 + lane]} vs {expected}");
            }
    }

    private static T* Alloc<T>(nint count) where T : unmanaged
    {
        void* p = NativeMemory.AlignedAlloc((nuint)(count * sizeof(T) + 64), 64);
        NativeMemory.Clear(p, (nuint)(count * sizeof(T) + 64));
        return (T*)p;
    }

    [Benchmark]
    public void Product()
    {
        // As MatMulTile.Input does with a session's scratch.
        PanelInput input = _packed!.ElementType == WeightElementType.Int8 ? MatMulTileInt8<Simd512, Vector512<float>>.Quantise(_packed, _x, 0, 1, _xq, _sx) : new PanelInput(_x, 0, null, null);
        for (int p = 0; p < _packed!.Panels; p++) MatMulTile<Simd512, Vector512<float>>.Panel(_packed, p, input, 1, _y, 0);
    }

    /// <summary>The measured times side by side, for the report.</summary>
    public static string Markdown(IEnumerable<Summary> summaries)
    {
        var cases = summaries.SelectMany(s => s.BenchmarksCases.Select(c => (s, c))).Where(x => x.c.Descriptor.Type == typeof(Int8MethodBench)).ToList();
        if (cases.Count == 0) return "";
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("### Int8: the integer method against float32 and bfloat16 (one batch-1 product, 3H x H, avx512, one thread)");
        sb.AppendLine();
        sb.AppendLine("| hidden | float32 | bfloat16 | int16-madd (x quantised per product) | bfloat16 / float32 | int16-madd / float32 |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var g in cases.GroupBy(x => (int)x.c.Parameters["Hidden"]).OrderBy(g => g.Key))
        {
            double? T(string m) => g.FirstOrDefault(x => (string)x.c.Parameters["Method"] == m) is var hit && hit.c is not null
                ? hit.s[hit.c]?.ResultStatistics?.Median : null;
            string F(double? ns) => ns is double v ? SuiteColumn.FormatNs(v) : "-";
            string R(double? a, double? b) => a is double x && b is double y && y > 0 ? (x / y).ToString("F2", inv) : "-";
            sb.AppendLine($"| {g.Key} | {F(T("float32"))} | {F(T("bfloat16"))} | {F(T("int16-madd"))} | {R(T("bfloat16"), T("float32"))} | {R(T("int16-madd"), T("float32"))} |");
        }
        sb.AppendLine();
        return sb.ToString();
    }
}
