using RnnRuntime.Bench.Peers;
using RnnRuntime.Bench.Suite;

namespace RnnRuntime.Bench;

/// <summary>
/// "export-per-sample DIR": the per-sample networks as files, for a check against PyTorch outside the bench
/// (Peers/rtneural/torch_check.py; torch is never needed at bench time): per network NAME.safetensors (the
/// weights every engine runs, with their layer list), NAME.rtneural.json (what the RTNeural engines load),
/// NAME.x.f32 (the verifier's 100 steps of inputs, [100, I] float32) and NAME.ENGINE.y.f32 (each engine's
/// outputs on them from a zero state, one Step per sample, [100, O]; ENGINE "reference" included).
/// </summary>
internal static class PerSampleExport
{
    public static int Run(string[] args)
    {
        if (args.Length != 1) { Console.Error.WriteLine("usage: export-per-sample DIR"); return 2; }
        string dir = args[0];
        Directory.CreateDirectory(dir);
        var engines = new List<string> { Engines.Reference };
        engines.AddRange(Engines.ForPerSample());
        foreach (string name in BenchNetwork.PerSample)
        {
            BenchNetwork n = BenchNetwork.Get(name);
            File.WriteAllBytes(Path.Combine(dir, name + ".safetensors"), n.Safetensors);
            File.WriteAllText(Path.Combine(dir, name + ".rtneural.json"), RtNeuralJson.Write(n));
            var (xs, _) = Verifier.Reference(n, 1);
            Write(Path.Combine(dir, name + ".x.f32"), xs);
            foreach (string engine in engines)
            {
                using IEngine e = engine == Engines.Reference ? new RnnrtEngine(engine, n, ScenarioKind.Step, 1, 1) : Engines.CreateNetwork(engine, n, ScenarioKind.Step, 1, 1);
                e.ResetState();
                var ys = new float[Verifier.Steps * n.Output];
                for (int t = 0; t < Verifier.Steps; t++)
                {
                    xs.AsSpan(t * n.Input, n.Input).CopyTo(e.Input);
                    e.Invoke();
                    e.Output.CopyTo(ys.AsSpan(t * n.Output, n.Output));
                }
                Write(Path.Combine(dir, $"{name}.{engine}.y.f32"), ys);
            }
            Console.WriteLine($"{name}: {n.Shape}, {string.Join(", ", engines)}");
        }
        Console.WriteLine($"export-per-sample: {dir}");
        return 0;
    }

    private static void Write(string path, float[] values)
    {
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        File.WriteAllBytes(path, bytes);
    }
}
