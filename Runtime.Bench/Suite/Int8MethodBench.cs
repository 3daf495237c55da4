using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Reports;
using RnnRuntime.Backends.Cpu;
using RnnRuntime.Model;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// The two ways of computing with int8 weights, measured on one batch-1 product y = W x + b (W: 3H
/// x H, a GRU's W_hh) with 512-bit vectors:
/// <list type="bullet">
/// <item><c>widen-fma</c>: what the avx512 backend runs (<see cref="MatMulTile{S, TV}"/>): each
/// vector of 16 q widened to float32 (vpmovsxbd, vcvtdq2ps) and FMA'd with x exactly; also
/// <c>float32</c> and <c>bfloat16</c> through the same kernel.</item>
/// <item><c>int16-madd</c>: the integer method, with x quantised per call (dynamic, symmetric) to
/// int16 and vpmaddwd summing two k per int32 lane (32 MACs per instruction). VNNI's vpdpbusd (u8 x
/// s8, 4 k per lane) would be the same idea with 8-bit activations; .NET 10 exposes it only as
/// AvxVnni (the VEX encoding), which this Zen 5 does not report, and has no AVX512-VNNI class, so
/// it cannot run here. The x quantisation is inside the timed call.</item>
/// </list>
/// Not a backend: a measurement that decides which method the backends use.
/// </summary>
[Config(typeof(SuiteConfig))]
public unsafe class Int8MethodBench
{
    [Params(256, 1024)]
    public int Hidden { get; set; }

    [Params("float32", "bfloat16", "widen-fma", "int16-madd")]
    public string Method { get; set; } = "";

    private PackedMatrix? _packed;
    private float* _x, _y;
    private sbyte* _q;           // int16-madd: per panel, per k pair, 8 vectors of 16 outputs x 2 k (32 bytes)
    private short* _xq;
    private float* _scale, _bias;
    private int _rows, _depth, _pairs;

    [GlobalSetup]
    public void Setup()
    {
        _rows = 3 * Hidden;
        _depth = Hidden;
        var rng = new Random(7);
        float k = 1.5f / MathF.Sqrt(Hidden);
        var w = new float[_rows * _depth];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() * 2 - 1) * k;
        var bias = new float[_rows];
        for (int i = 0; i < bias.Length; i++) bias[i] = (float)(rng.NextDouble() * 2 - 1) * k;
        _x = Alloc<float>(_depth);
        _y = Alloc<float>(_rows + 16 * 8);
        for (int i = 0; i < _depth; i++) _x[i] = (float)(rng.NextDouble() * 2 - 1);

        var f32 = new WeightTensor(_rows, _depth, w);
        WeightTensor tensor = Method switch
        {
            "bfloat16" => f32.ConvertTo(WeightElementType.BFloat16, "w"),
            "float32" => f32,
            _ => f32.ConvertTo(WeightElementType.Int8, "w"),
        };
        // widen-fma packs int8 in the plain layout (what the widening kernel reads); int16-madd times the backend's kernel.
        _packed = new PackedMatrix(tensor, bias, gates: 3, hidden: Hidden, vector: 16, int8Pairs: Method != "widen-fma");
        if (Method != "int16-madd") return;
        if (!Avx512BW.IsSupported) throw new PlatformNotSupportedException("int16-madd needs AVX-512BW");

        // Outputs in PyTorch row order here (no gate interleaving: the product's cost does not care).
        _pairs = (_depth + 1) / 2;
        int panels = _rows / 128;
        _q = Alloc<sbyte>((nint)panels * _pairs * 256);
        _scale = Alloc<float>(_rows);
        _bias = Alloc<float>(_rows);
        for (int o = 0; o < _rows; o++)
        {
            _scale[o] = tensor.Int8Scales[o];
            _bias[o] = bias[o];
            int p = o / 128, vec = o % 128 / 16, lane = o % 16;
            for (int kk = 0; kk < _depth; kk++)
                _q[(nint)p * _pairs * 256 + (kk / 2) * 256 + vec * 32 + lane * 2 + kk % 2] = tensor.Int8[o, kk];
        }
        _xq = Alloc<short>(2 * _pairs);
        // Check the integer method against the float one before timing it.
        IntProduct();
        var expected = new float[_rows];
        for (int o = 0; o < _rows; o++) expected[o] = (float)(bias[o] + tensor.Dot(o, new ReadOnlySpan<float>(_x, _depth)));
        for (int o = 0; o < _rows; o++)
            if (Math.Abs(_y[o] - expected[o]) > 1e-3)
                throw new InvalidOperationException($"int16-madd disagrees at output {o}: {_y[o]} vs {expected[o]}");
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
        if (Method == "int16-madd") IntProduct();
        else
            for (int p = 0; p < _packed!.Panels; p++) MatMulTile<Simd512, Vector512<float>>.Panel(_packed, p, _x, 0, 1, _y, 0);
    }

    /// <summary>The largest int16 that keeps K * 127 * |xq| in an int32.</summary>
    private int XqMax => (int)Math.Min(32767, int.MaxValue / (127L * _depth));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void IntProduct()
    {
        // Quantise x: s = max|x| / xqMax, xq = round(x / s).
        float max = 0;
        for (int i = 0; i < _depth; i++) max = MathF.Max(max, MathF.Abs(_x[i]));
        float s = max / XqMax, inv = s == 0 ? 0 : 1 / s;
        for (int i = 0; i < _depth; i++) _xq[i] = (short)MathF.Round(_x[i] * inv);
        int panels = _rows / 128;
        for (int p = 0; p < panels; p++)
        {
            sbyte* w = _q + (nint)p * _pairs * 256;
            Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            int* xp = (int*)_xq;
            for (int m = 0; m < _pairs; m++, w += 256)
            {
                Vector512<short> xb = Vector512.Create(xp[m]).AsInt16();
                a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w)), xb);
                a1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w + 32)), xb);
                a2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w + 64)), xb);
                a3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w + 96)), xb);
                a4 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w + 128)), xb);
                a5 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w + 160)), xb);
                a6 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w + 192)), xb);
                a7 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w + 224)), xb);
            }
            Finish(p * 128 + 0, a0, s); Finish(p * 128 + 16, a1, s); Finish(p * 128 + 32, a2, s); Finish(p * 128 + 48, a3, s);
            Finish(p * 128 + 64, a4, s); Finish(p * 128 + 80, a5, s); Finish(p * 128 + 96, a6, s); Finish(p * 128 + 112, a7, s);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Finish(int o, Vector512<int> acc, float s) =>
        Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(acc), Vector512.Load(_scale + o) * Vector512.Create(s), Vector512.Load(_bias + o)).Store(_y + o);

    /// <summary>The measured times side by side, for the report.</summary>
    public static string Markdown(IEnumerable<Summary> summaries)
    {
        var cases = summaries.SelectMany(s => s.BenchmarksCases.Select(c => (s, c))).Where(x => x.c.Descriptor.Type == typeof(Int8MethodBench)).ToList();
        if (cases.Count == 0) return "";
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("### Int8: widen + FMA against the integer method (one batch-1 product, 3H x H, avx512, one thread)");
        sb.AppendLine();
        sb.AppendLine("| hidden | float32 | bfloat16 | widen-fma | int16-madd (x quantised per call) | widen-fma / float32 | int16-madd / float32 |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var g in cases.GroupBy(x => (int)x.c.Parameters["Hidden"]).OrderBy(g => g.Key))
        {
            double? T(string m) => g.FirstOrDefault(x => (string)x.c.Parameters["Method"] == m) is var hit && hit.c is not null
                ? hit.s[hit.c]?.ResultStatistics?.Median : null;
            string F(double? ns) => ns is double v ? SuiteColumn.FormatNs(v) : "-";
            string R(double? a, double? b) => a is double x && b is double y && y > 0 ? (x / y).ToString("F2", inv) : "-";
            sb.AppendLine($"| {g.Key} | {F(T("float32"))} | {F(T("bfloat16"))} | {F(T("widen-fma"))} | {F(T("int16-madd"))} | {R(T("widen-fma"), T("float32"))} | {R(T("int16-madd"), T("float32"))} |");
        }
        sb.AppendLine();
        return sb.ToString();
    }
}
