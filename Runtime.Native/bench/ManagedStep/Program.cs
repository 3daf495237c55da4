using System.Diagnostics;
using RnnRuntime;

// Same model, same input, same loop shape as bench/overhead.c: best of 9 runs of 20000 calls.
const int Runs = 9, Calls = 20000;
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: ManagedStep MODEL.safetensors");
    return 2;
}
using var model = RnnModel.Load(args[0]);
using RnnSession session = model.CreateSession(1);
var x = new float[model.InputSize];
var y = new float[model.OutputSize];
var h = new float[session.StateLength];
for (int i = 0; i < x.Length; i++) x[i] = (float)Math.Sin(i * 0.37);

(double best, double median) Time(Action call)
{
    for (int i = 0; i < Calls; i++) call();
    var r = new double[Runs];
    for (int run = 0; run < Runs; run++)
    {
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < Calls; i++) call();
        r[run] = Stopwatch.GetElapsedTime(t0).TotalNanoseconds / Calls;
    }
    Array.Sort(r);
    return (r[0], r[Runs / 2]);
}

var step = Time(() => session.Step(x, y));
var state = Time(() => session.GetState(h));
string how = System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled ? "JIT" : "NativeAOT";
Console.WriteLine($"managed_ns_per_step {step.best:F1} ({how}; best of {Runs} runs of {Calls} steps, median {step.median:F1}; GRU input {model.InputSize} hidden {model.HiddenSize} on {model.Backend})");
Console.WriteLine($"managed_ns_per_get_state {state.best:F1} (median {state.median:F1})");
return 0;
