using RnnRuntime;

// Loads a model through the package, steps it a few times on the fastest backend and on the
// reference, and prints what came out. Exit code 0 only when the two agree.
string path = args.Length > 0 ? args[0] : "gru_i64_h256.safetensors";
using var model = RnnModel.Load(path);
using var reference = RnnModel.Load(path, new RnnOptions { Backend = "reference" });
using var session = model.CreateSession(batchSize: 1);
using var oracle = reference.CreateSession(batchSize: 1);
float[] x = new float[model.InputSize], y = new float[model.OutputSize], yRef = new float[model.OutputSize];
double dev = 0;
for (int t = 0; t < 10; t++)
{
    for (int i = 0; i < x.Length; i++) x[i] = MathF.Sin(0.1f * (t * x.Length + i));
    session.Step(x, y);
    oracle.Step(x, yRef);
    for (int i = 0; i < y.Length; i++) dev = Math.Max(dev, Math.Abs(y[i] - yRef[i]));
}
Console.WriteLine($"consumer: RnnRuntime {typeof(RnnModel).Assembly.GetName().Version} ({model.Backend}), " +
                  $"input {model.InputSize}, hidden {model.HiddenSize}: after 10 steps y[0..2] = {y[0]:F6} {y[1]:F6} {y[2]:F6}, " +
                  $"max |y - reference| = {dev:E2}");
return dev <= 1e-4 ? 0 : 1;
