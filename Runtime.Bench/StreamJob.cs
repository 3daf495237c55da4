using System.Diagnostics;
using System.Globalization;
using RnnRuntime.Backends;

namespace RnnRuntime.Bench;

/// <summary>
/// The main job: streams a model one frame at a time through every backend present, checks each
/// against the reference backend, and prints latency per step. With no path it streams the bundled
/// GRU (input 64, hidden 256). A bidirectional model cannot stream (its backward pass needs the
/// whole sequence), so for one the job times whole-sequence runs instead, and says so.
/// Only the public API is used: RnnModel.Load, CreateSession, Step/Run, BackendRegistry.Available.
/// </summary>
internal static class StreamJob
{
    public const string BundledModel = "Models/gru_i64_h256.safetensors";

    /// <summary>Allowed max |y - y_reference|, relative to the outputs' scale (GRU/LSTM outputs are
    /// within [-1, 1], so it is absolute for them; a ReLU RNN's can grow).</summary>
    public const double Tolerance = 1e-4;

    private const string Usage = "usage: stream [PATH] [--batch B] [--steps N] [--layers L1,L2,...] [--prefix P] [--nonlinearity tanh|relu]\n" +
        "              [--threads N] [--weight-format float32|bfloat16|int8] [--device D]\n" +
        "  PATH: a .safetensors or torch.save .pt file (an RNN/GRU/LSTM state_dict, a network saved by rnnrt.save); default the bundled GRU.\n" +
        "  --layers: RnnOptions.Layers, comma-separated: module prefixes, kind:prefix (linear:fc), kind(params):prefix (rnn(relu):rnn),\n" +
        "  activations (tanh, relu, sigmoid, add_input); --prefix: RnnOptions.Prefix (where the network lives, e.g. a checkpoint's 'model').";

    public static int Run(string[] args)
    {
        string? userPath = null;
        int steps = 3000, batch = 1;
        var load = new RnnOptions();
        for (int a = 0; a < args.Length; a++)
        {
            string arg = args[a];
            if (arg is "--layers" or "--prefix" or "--nonlinearity" or "--threads" or "--weight-format" or "--device")
            {
                if (a + 1 >= args.Length) return UsageError($"{arg} needs a value");
                string value = args[++a];
                switch (arg)
                {
                    case "--layers":
                        load = load with { Layers = SplitLayers(value) };
                        break;
                    case "--prefix":
                        load = load with { Prefix = value };
                        break;
                    case "--nonlinearity":
                        load = load with { Nonlinearity = value switch { "tanh" => RnnNonlinearity.Tanh, "relu" => RnnNonlinearity.Relu, _ => null } };
                        if (load.Nonlinearity is null) return UsageError($"--nonlinearity is '{value}'; expected tanh or relu");
                        break;
                    case "--threads":
                        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int threads) || threads > RnnOptions.MaxThreads)
                            return UsageError($"--threads needs 0 (one per core) or 1..{RnnOptions.MaxThreads}");
                        load = load with { Threads = threads };
                        break;
                    case "--weight-format":
                        RnnWeightFormat? format = value switch { "float32" => RnnWeightFormat.Float32, "bfloat16" => RnnWeightFormat.BFloat16, "int8" => RnnWeightFormat.Int8, _ => null };
                        if (format is null) return UsageError($"--weight-format is '{value}'; expected float32, bfloat16 or int8");
                        load = load with { WeightFormat = format.Value };
                        break;
                    default:
                        load = load with { Device = value };
                        break;
                }
            }
            else if (arg is "--batch" or "--steps")
            {
                if (a + 1 >= args.Length || !int.TryParse(args[a + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1
                    || (arg == "--batch" && n > 65536))
                    return UsageError($"{arg} needs a positive whole number{(arg == "--batch" ? " up to 65536" : "")}");
                if (arg == "--batch") batch = n; else steps = n;
                a++;
            }
            else if (arg.StartsWith("--", StringComparison.Ordinal)) return UsageError($"unknown option '{arg}'");
            else if (userPath is null) userPath = arg;
            // The old form "stream PATH STEPS" keeps working.
            else if (int.TryParse(arg, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0) steps = n;
            else return UsageError($"unexpected argument '{arg}'");
        }
        string path = userPath ?? Path.Combine(AppContext.BaseDirectory, BundledModel);

        RnnModel reference;
        try
        {
            reference = RnnModel.Load(path, load with { Backend = "reference", Threads = 1, Device = null });
        }
        catch (Exception e)
        {
            // The loader's own message (a missing file, a tensor of the wrong shape, ...); any other
            // exception type would be a loader bug, so it is named.
            bool known = e is RnnModelException or IOException or UnauthorizedAccessException or ArgumentException;
            Console.Error.WriteLine($"stream: cannot load {path}: {(known ? "" : e.GetType().Name + ": ")}{e.Message}");
            return 2;
        }
        using RnnModel oracle = reference;
        bool runOnly = reference.NumDirections != 1;
        Console.WriteLine($"model: {path}");
        Console.WriteLine($"       {reference}; {reference.WeightBytes / 1024.0:F0} KiB of weights; auto -> {BackendRegistry.ResolveAuto()}");
        if (load.Layers is not null || load.Prefix is not null || load.WeightFormat != RnnWeightFormat.Float32 || load.Threads != 1)
            Console.WriteLine($"       options: {(load.Layers is null ? "" : $"layers [{string.Join(", ", load.Layers)}] ")}{(load.Prefix is null ? "" : $"prefix '{load.Prefix}' ")}" +
                              $"weight format {load.WeightFormat}, threads {load.Threads}");
        Console.WriteLine($"       {steps} steps, batch {batch}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSArchitecture}");
        if (runOnly)
            Console.WriteLine("       bidirectional: Run only (a backward pass needs the whole sequence, so it cannot Step); " +
                              "times are per step of whole-sequence runs");

        int frame = batch * reference.InputSize;
        if ((long)steps * Math.Max(frame, batch * reference.OutputSize) > Array.MaxLength)
            return UsageError($"{steps} steps x batch {batch} x {Math.Max(reference.InputSize, reference.OutputSize)} floats is more than one array holds; use fewer --steps");

        // The same seeded input stream for every backend; the reference's outputs are the yardstick.
        var rng = new Random(1234);
        var xs = new float[(long)steps * frame];
        for (long i = 0; i < xs.LongLength; i++) xs[i] = (float)(rng.NextDouble() * 2 - 1);
        float[] expected = runOnly ? Sequence(reference, xs, steps, batch, out _) : Stream(reference, xs, steps, batch, out _);
        double scale = 1;
        foreach (float v in expected) scale = Math.Max(scale, Math.Abs(v));
        double tolerance = Tolerance * scale;
        Console.WriteLine($"       each backend against reference: max |y - y_reference| over all {(long)steps * batch * reference.OutputSize} outputs, " +
                          $"tolerance {Tolerance:0e0} x max(1, max |y_reference|) = {tolerance:E2}");

        Console.WriteLine();
        Console.WriteLine($"{"backend",-10} {"p50 us",10} {"p99 us",10} {"steps/s",12} {"max |dev|",12}");
        int failures = 0;
        foreach (string name in BackendRegistry.Available())
        {
            RnnModel loaded;
            try
            {
                loaded = RnnModel.Load(path, load with { Backend = name });
            }
            catch (RnnBackendUnavailableException e)
            {
                // A backend that cannot run these options (OpenCL and a narrow weight format) is skipped, and says why.
                Console.WriteLine($"{name,-10} skipped: {e.Message}");
                continue;
            }
            using RnnModel model = loaded;
            float[] got = runOnly ? Sequence(model, xs, steps, batch, out double[] micros) : Stream(model, xs, steps, batch, out micros);
            double dev = 0;
            for (long i = 0; i < got.LongLength; i++) dev = Math.Max(dev, Math.Abs(got[i] - expected[i]));
            Array.Sort(micros);
            double p50 = micros[micros.Length / 2], p99 = micros[(int)(micros.Length * 0.99)];
            double perSecond = micros.Length / (micros.Sum() / 1e6);
            bool ok = dev <= tolerance;   // a NaN fails too
            if (!ok) failures++;
            Console.WriteLine($"{name,-10} {p50,10:F2} {p99,10:F2} {perSecond,12:F0} {dev,12:E2}{(ok ? "" : "  MISMATCH")}");
        }
        return failures == 0 ? 0 : 1;
    }

    /// <summary>"fc_in,relu,rnn(relu, nonlinearity=x):rnn" -> entries, splitting at commas outside parentheses.</summary>
    private static string[] SplitLayers(string value)
    {
        var entries = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i <= value.Length; i++)
        {
            if (i == value.Length || value[i] == ',' && depth == 0)
            {
                entries.Add(value[start..i]);
                start = i + 1;
            }
            else if (value[i] == '(') depth++;
            else if (value[i] == ')') depth--;
        }
        return [.. entries];
    }

    private static int UsageError(string message)
    {
        Console.Error.WriteLine($"stream: {message}");
        Console.Error.WriteLine(Usage);
        return 2;
    }

    /// <summary>One Step per frame; micros[t] is step t's latency.</summary>
    private static float[] Stream(RnnModel model, float[] xs, int steps, int batch, out double[] micros)
    {
        using RnnSession session = model.CreateSession(batch);
        int I = batch * model.InputSize, H = batch * model.OutputSize;
        var ys = new float[(long)steps * H];
        micros = new double[steps];
        // Warm up (JIT tiers, caches) on a separate state, then stream from zero.
        for (int t = 0; t < Math.Min(steps, 200); t++) session.Step(xs.AsSpan(t * I, I), ys.AsSpan(t * H, H));
        session.Reset();
        for (int t = 0; t < steps; t++)
        {
            long start = Stopwatch.GetTimestamp();
            session.Step(xs.AsSpan(t * I, I), ys.AsSpan(t * H, H));
            micros[t] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        return ys;
    }

    /// <summary>Whole-sequence Runs from a zero state, repeated; micros[r] is run r's time per step.</summary>
    private static float[] Sequence(RnnModel model, float[] xs, int steps, int batch, out double[] micros)
    {
        using RnnSession session = model.CreateSession(batch);
        var ys = new float[(long)steps * batch * model.OutputSize];
        session.Run(xs, steps, ys);   // warm up
        var times = new List<double>();
        long begin = Stopwatch.GetTimestamp();
        // At least 5 runs, more while they take under a second in all (up to 200).
        while (times.Count < 5 || (times.Count < 200 && Stopwatch.GetElapsedTime(begin).TotalSeconds < 1))
        {
            session.Reset();
            long start = Stopwatch.GetTimestamp();
            session.Run(xs, steps, ys);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / steps);
        }
        micros = times.ToArray();
        return ys;
    }
}
