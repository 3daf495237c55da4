using RnnRuntime;
using SharpFuzz;

namespace RnnRuntime.Fuzz;

/// <summary>
/// afl++ harness (SharpFuzz, out of process): every input must either load or fail with an
/// RnnModelException that says something. Any other exception escapes and afl++ records a crash; an
/// input that takes longer than afl-fuzz's -t is recorded as a hang.
///
///   RnnRuntime.Fuzz                 run under afl-fuzz (reads inputs from afl++'s shared memory)
///   RnnRuntime.Fuzz --check FILE... load each file once in-process and print what happened (no afl++);
///                                   exit 1 if any file broke the contract (used to triage findings)
/// </summary>
internal static class Program
{
    private static readonly RnnOptions Reference = new() { Backend = "reference" };

    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--check")
            return Check(args.AsSpan(1));
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            _ = LoadOne(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        });
        return 0;
    }

    /// <summary>The property: loads, or throws RnnModelException with a message; nothing else.
    /// Returns what happened, for --check.</summary>
    private static string LoadOne(ReadOnlySpan<byte> file)
    {
        try
        {
            using RnnModel model = RnnModel.Load(file, Reference);
            // A model that loaded must be usable: one step from a zero state.
            using RnnSession session = model.CreateSession();
            if (model.NumDirections == 1)
            {
                var x = new float[model.InputSize];
                var y = new float[model.OutputSize];
                session.Step(x, y);
            }
            return $"loaded: {model.Cell}, input {model.InputSize}, hidden {model.HiddenSize}, {model.NumLayers} layer(s) x {model.NumDirections}";
        }
        catch (RnnModelException e) when (!string.IsNullOrWhiteSpace(e.Message))
        {
            return "rejected: " + e.Message;
        }
    }

    private static int Check(ReadOnlySpan<string> files)
    {
        int broken = 0;
        foreach (string path in files)
        {
            byte[] bytes = File.ReadAllBytes(path);
            try
            {
                Console.WriteLine($"ok        {path}: {LoadOne(bytes)}");
            }
            catch (Exception e)
            {
                broken++;
                Console.WriteLine($"BROKEN    {path}: {e.GetType().FullName}: {e.Message}");
                Console.WriteLine(e.StackTrace);
            }
        }
        return broken == 0 ? 0 : 1;
    }
}
