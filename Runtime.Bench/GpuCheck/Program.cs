using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using RnnRuntime;
using RnnRuntime.Backends.OpenCL;
using RnnRuntime.Model;

// gpu-check: lists every OpenCL device, checks the opencl backend against reference on each, and
// times Step and Run per device. Meant to be carried (artifacts/gpu-check, via run.sh) to a machine
// with a GPU and perhaps no .NET. Exit status: 0 all parity checks passed, 1 a check failed,
// 2 OpenCL is not usable, 64 bad arguments.

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string? modelsFolder = null, deviceSpec = null;
bool listOnly = false, quick = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--models" when i + 1 < args.Length: modelsFolder = args[++i]; break;
        case "--device" when i + 1 < args.Length: deviceSpec = args[++i]; break;
        case "--list": listOnly = true; break;
        case "--quick": quick = true; break;
        case "-h" or "--help":
            Console.WriteLine("usage: gpu-check [--models DIR] [--device INDEX|NAME] [--list] [--quick]");
            return 0;
        default:
            Console.Error.WriteLine($"gpu-check: unknown argument '{args[i]}' (try --help)");
            return 64;
    }
}

Console.WriteLine($"rnnrt gpu-check: {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}, " +
                  $"{(Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? "JIT under dotnet" : "native executable")}, .NET {Environment.Version}, {Environment.ProcessorCount} CPUs");
Console.WriteLine($"  OCL_ICD_VENDORS={Environment.GetEnvironmentVariable("OCL_ICD_VENDORS") ?? "(unset)"}  LD_LIBRARY_PATH={Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "(unset)"}");

IReadOnlyList<OpenCLDeviceInfo> devices;
try
{
    devices = OpenCLDevices.All;
}
catch (RnnBackendUnavailableException e)
{
    Console.WriteLine($"OpenCL is not usable: {e.Message}");
    return 2;
}

Console.WriteLine($"OpenCL devices ({devices.Count}):");
foreach (OpenCLDeviceInfo d in devices)
    Console.WriteLine($"  {d.Index}: {d.Name} [{d.TypeName}] platform '{d.PlatformName}', {d.Version}, driver {d.DriverVersion}, " +
                      $"{d.ComputeUnits} CUs, {d.GlobalMemBytes >> 20} MiB, local {d.LocalMemBytes >> 10} KiB, max work-group {d.MaxWorkGroupSize}");
if (listOnly) return 0;

var cases = ParityCases(modelsFolder, quick);
var failures = new List<string>();
IEnumerable<OpenCLDeviceInfo> chosen = deviceSpec is null ? devices : [OpenCLDevices.Select(deviceSpec)];
foreach (OpenCLDeviceInfo device in chosen)
{
    string spec = device.Index.ToString(CultureInfo.InvariantCulture);
    Console.WriteLine();
    Console.WriteLine($"device {device.Index}: {device.Name} [{device.TypeName}]");
    var options = new RnnOptions { Backend = "opencl", Device = spec };

    var build = Stopwatch.StartNew();
    try
    {
        // The first model on a device builds the kernels; keep it alive so the others share the build.
        using RnnModel first = RnnModel.Load(cases[0].File, options);
        Console.WriteLine($"  kernels built in {build.Elapsed.TotalMilliseconds:F0} ms");

        Console.WriteLine($"  parity, opencl vs reference (max |diff| must be <= {ParityTolerance:G}):");
        foreach (ParityCase c in cases)
        {
            (float diff, string shape) = Parity(c, options);
            bool ok = diff <= ParityTolerance;
            if (!ok) failures.Add($"device {device.Index} {c.Name}: {diff:G3}");
            Console.WriteLine($"    {(ok ? "ok  " : "FAIL")} {c.Name,-34} {shape,-44} max |diff| {diff:E2}");
        }

        Console.WriteLine("  timing (wall clock per call, median of repeated calls; includes host<->device transfers):");
        foreach (ParityCase c in TimingCases(modelsFolder, quick))
            Time(c, options, quick);
    }
    catch (Exception e) when (e is OpenCLException or RnnBackendUnavailableException)
    {
        failures.Add($"device {device.Index}: {e.Message}");
        Console.WriteLine($"  FAILED: {e.Message}");
    }
}

Console.WriteLine();
if (failures.Count == 0)
{
    Console.WriteLine($"gpu-check: all parity checks passed on {chosen.Count()} device(s)");
    return 0;
}
Console.WriteLine($"gpu-check: {failures.Count} failure(s):");
foreach (string f in failures) Console.WriteLine("  " + f);
return 1;

static List<ParityCase> ParityCases(string? folder, bool quick)
{
    var list = new List<ParityCase>();
    // Random models with awkward sizes, every cell, stacks and both directions.
    list.Add(new("random rnn relu i13 h37 l2", Models.Random(RnnCellKind.Rnn, 13, 37, 2, false, relu: true), 3, 20));
    list.Add(new("random rnn tanh i7 h67 bi", Models.Random(RnnCellKind.Rnn, 7, 67, 1, true), 2, 20));
    list.Add(new("random gru i37 h129 l2 bi", Models.Random(RnnCellKind.Gru, 37, 129, 2, true), 3, 15));
    list.Add(new("random gru i1 h1", Models.Random(RnnCellKind.Gru, 1, 1, 1, false), 1, 30));
    list.Add(new("random lstm i64 h67 l2", Models.Random(RnnCellKind.Lstm, 64, 67, 2, false), 2, 20));
    list.Add(new("random lstm i5 h13 bi no-bias", Models.Random(RnnCellKind.Lstm, 5, 13, 1, true, bias: false), 3, 25));
    if (!quick)
        list.Add(new("random gru i256 h1024", Models.Random(RnnCellKind.Gru, 256, 1024, 1, false), 2, 10));
    if (folder is not null && Directory.Exists(folder))
        foreach (string path in Directory.EnumerateFiles(folder, "*.safetensors").Where(p => !p.EndsWith(".io.safetensors", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            list.Add(new(Path.GetFileName(path), File.ReadAllBytes(path), 2, 20));
    return list;
}

static List<ParityCase> TimingCases(string? folder, bool quick)
{
    var list = new List<ParityCase>();
    string bench = folder is null ? "" : Path.Combine(folder, "gru_i64_h256.safetensors");
    list.Add(File.Exists(bench)
        ? new("gru_i64_h256 (bench model)", File.ReadAllBytes(bench), 0, 0)
        : new("random gru i64 h256", Models.Random(RnnCellKind.Gru, 64, 256, 1, false), 0, 0));
    if (!quick)
    {
        list.Add(new("random lstm i256 h1024", Models.Random(RnnCellKind.Lstm, 256, 1024, 1, false), 0, 0));
        list.Add(new("random gru i128 h512 l2", Models.Random(RnnCellKind.Gru, 128, 512, 2, false), 0, 0));
    }
    return list;
}

static (float Diff, string Shape) Parity(ParityCase c, RnnOptions options)
{
    using RnnModel reference = RnnModel.Load(c.File, new RnnOptions { Backend = "reference" });
    using RnnModel opencl = RnnModel.Load(c.File, options);
    using RnnSession expected = reference.CreateSession(c.Batch), actual = opencl.CreateSession(c.Batch);
    var rng = new Random(7);
    float[] h0 = Models.Uniform(rng, expected.StateLength, 0.5f);
    float[] xs = Models.Uniform(rng, c.Steps * expected.InputLength, 1f);
    expected.SetState(h0);
    actual.SetState(h0);
    var ye = new float[c.Steps * expected.OutputLength];
    var ya = new float[ye.Length];
    expected.Run(xs, c.Steps, ye);
    actual.Run(xs, c.Steps, ya);
    var se = new float[expected.StateLength];
    var sa = new float[se.Length];
    expected.GetState(se);
    actual.GetState(sa);
    float diff = Math.Max(MaxAbsDiff(ye, ya), MaxAbsDiff(se, sa));
    if (!opencl.IsBidirectional)
    {
        // Step must give what Run gave.
        actual.SetState(h0);
        var y = new float[actual.OutputLength];
        for (int t = 0; t < c.Steps; t++)
        {
            actual.Step(xs.AsSpan(t * actual.InputLength, actual.InputLength), y);
            diff = Math.Max(diff, MaxAbsDiff(ye.AsSpan(t * y.Length, y.Length), y));
        }
    }
    return (diff, $"{opencl.ToString().Replace(" on opencl", "")}, B={c.Batch} T={c.Steps}");
}

static float MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
{
    float worst = 0;
    for (int i = 0; i < a.Length; i++)
    {
        float d = MathF.Abs(a[i] - b[i]);
        if (!(d <= worst)) worst = d;   // NaN wins
    }
    return worst;
}

static void Time(ParityCase c, RnnOptions options, bool quick)
{
    using RnnModel model = RnnModel.Load(c.File, options);
    Console.WriteLine($"    {c.Name}: {model.ToString().Replace(" on opencl", "")}, {model.WeightBytes / 1024.0 / 1024.0:F2} MiB of weights");
    double budget = quick ? 0.2 : 1.0;
    {
        using RnnSession s = model.CreateSession(1);
        var x = Models.Uniform(new Random(1), s.InputLength, 1f);
        var y = new float[s.OutputLength];
        double us = Measure(() => s.Step(x, y), budget, out int n) * 1e6;
        Console.WriteLine($"      Step  B=1          {us,10:F1} us/step   ({n} calls)");
    }
    foreach (int batch in (int[])[1, 16])
    {
        const int T = 100;
        using RnnSession s = model.CreateSession(batch);
        var xs = Models.Uniform(new Random(2), T * s.InputLength, 1f);
        var ys = new float[T * s.OutputLength];
        double seconds = Measure(() => { s.Reset(); s.Run(xs, T, ys); }, budget, out int n);
        Console.WriteLine($"      Run   B={batch,-2} T={T}  {seconds * 1e3,10:F3} ms/run   {seconds * 1e6 / T,8:F1} us/step  {T * batch / seconds,10:F0} frames/s  ({n} calls)");
    }
}

static double Measure(Action call, double budgetSeconds, out int calls)
{
    for (int i = 0; i < 3; i++) call();   // warm-up: kernel specialization, scratch growth
    var times = new List<double>();
    var total = Stopwatch.StartNew();
    while ((total.Elapsed.TotalSeconds < budgetSeconds || times.Count < 5) && times.Count < 100_000)
    {
        long start = Stopwatch.GetTimestamp();
        call();
        times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
    }
    times.Sort();
    calls = times.Count;
    return times[times.Count / 2];
}

internal sealed record ParityCase(string Name, byte[] File, int Batch, int Steps);

internal static partial class Program
{
    private const float ParityTolerance = 2e-5f;
}

internal static class Models
{
    /// <summary>Weights U(-k, k), k = 1.5/sqrt(H): well-conditioned, as the test models are.</summary>
    public static byte[] Random(RnnCellKind cell, int input, int hidden, int layers, bool bidirectional, bool bias = true, bool relu = false)
    {
        var rng = new System.Random(input * 7919 + hidden * 31 + layers);
        float k = 1.5f / MathF.Sqrt(hidden);
        int rows = cell.GateCount() * hidden, dirs = bidirectional ? 2 : 1;
        var tensors = new List<(string, int[], float[])>();
        for (int layer = 0; layer < layers; layer++)
        {
            int width = layer == 0 ? input : dirs * hidden;
            for (int dir = 0; dir < dirs; dir++)
            {
                string suffix = $"_l{layer}{(dir == 1 ? "_reverse" : "")}";
                tensors.Add(($"weight_ih{suffix}", [rows, width], Uniform(rng, rows * width, k)));
                tensors.Add(($"weight_hh{suffix}", [rows, hidden], Uniform(rng, rows * hidden, k)));
                if (bias)
                {
                    tensors.Add(($"bias_ih{suffix}", [rows], Uniform(rng, rows, k)));
                    tensors.Add(($"bias_hh{suffix}", [rows], Uniform(rng, rows, k)));
                }
            }
        }
        return SafetensorsWriter.Write(tensors, relu ? new Dictionary<string, string> { ["nonlinearity"] = "relu" } : null);
    }

    public static float[] Uniform(System.Random rng, int count, float k)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(rng.NextDouble() * 2 - 1) * k;
        return values;
    }
}
