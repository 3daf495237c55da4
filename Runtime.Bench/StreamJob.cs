using System.Diagnostics;
using System.Globalization;
using RnnRuntime.Backends;

namespace RnnRuntime.Bench;

/// <summary>
/// The main job: streams the bundled GRU (input 64, hidden 256) one frame at a time through every
/// backend present, checks each against the reference, and prints latency per step.
/// </summary>
internal static class StreamJob
{
    public const string BundledModel = "Models/gru_i64_h256.safetensors";

    public static int Run(string[] args)
    {
        string path = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, BundledModel);
        int steps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3000;
        byte[] file = File.ReadAllBytes(path);

        using var reference = RnnModel.Load(file, new RnnOptions { Backend = "reference" });
        Console.WriteLine($"model: {path}");
        Console.WriteLine($"       {reference}; {reference.WeightBytes / 1024.0:F0} KiB of weights; auto -> {BackendRegistry.ResolveAuto()}");
        Console.WriteLine($"       {steps} steps, batch 1, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSArchitecture}");

        // The same seeded input stream for every backend; the reference's outputs are the yardstick.
        var rng = new Random(1234);
        int I = reference.InputSize, H = reference.OutputSize;
        var xs = new float[steps * I];
        for (int i = 0; i < xs.Length; i++) xs[i] = (float)(rng.NextDouble() * 2 - 1);
        float[] expected = Stream(reference, xs, steps, out _);

        Console.WriteLine();
        Console.WriteLine($"{"backend",-10} {"p50 us",10} {"p99 us",10} {"steps/s",12} {"max |dev|",12}");
        int failures = 0;
        foreach (string name in BackendRegistry.Available())
        {
            using var model = RnnModel.Load(file, new RnnOptions { Backend = name });
            float[] got = Stream(model, xs, steps, out double[] micros);
            double dev = 0;
            for (int i = 0; i < got.Length; i++) dev = Math.Max(dev, Math.Abs(got[i] - expected[i]));
            Array.Sort(micros);
            double p50 = micros[micros.Length / 2], p99 = micros[(int)(micros.Length * 0.99)];
            double perSecond = steps / (micros.Sum() / 1e6);
            bool ok = dev <= 1e-4;
            if (!ok) failures++;
            Console.WriteLine($"{name,-10} {p50,10:F2} {p99,10:F2} {perSecond,12:F0} {dev,12:E2}{(ok ? "" : "  MISMATCH")}");
        }
        return failures == 0 ? 0 : 1;
    }

    private static float[] Stream(RnnModel model, float[] xs, int steps, out double[] micros)
    {
        using RnnSession session = model.CreateSession();
        int I = model.InputSize, H = model.OutputSize;
        var ys = new float[steps * H];
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
}
