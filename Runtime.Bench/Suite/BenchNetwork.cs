using System.Collections.Concurrent;
using RnnRuntime.Model;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// The networks of the suite, built by <see cref="SyntheticNetwork"/> from a fixed seed (recurrent
/// weights U(-1.5/sqrt(H), 1.5/sqrt(H)), linear weights PyTorch's default), each file carrying its
/// <c>rnnrt.network</c> layer list, loaded through the public API:
/// <list type="bullet">
/// <item><c>guitarml</c>: LSTM(1, 40) -> Linear(40, 1) + add_input (GuitarML's amp models).</item>
/// <item><c>denoiser</c>: Linear(42, 24) -> tanh -> GRU(24, 24) -> GRU(24, 48) -> Linear(48, 22) -> sigmoid (an RNNoise-like shape).</item>
/// </list>
/// <para>The per-sample networks (<see cref="PerSample"/>, the audio-plugin shapes RTNeural is built for, timed
/// one sample per call by <see cref="PerSampleBench"/>): <c>lstm40</c> LSTM(1, 40) -> Linear(40, 1), <c>lstm16</c>
/// LSTM(1, 16) -> Linear(16, 1), <c>gru40</c> GRU(1, 40) -> Linear(40, 1), <c>lstm8x4</c> / <c>gru8x4</c>
/// cell(1, 8) -> cell(8, 8, num_layers=3) -> Linear(8, 1) (RTNeural's own PyTorch test models), <c>gru64</c>
/// GRU(16, 64) -> Linear(64, 16), <c>lstm128</c> LSTM(32, 128) -> Linear(128, 1). They have no recurrent-part variant.</para>
/// Each of guitarml and denoiser has a recurrent part, <c>NAME-recurrent</c>: the same file's recurrent modules' tensors alone
/// (the loader refuses a file with tensors no layer uses), loaded with RnnOptions.Layers naming them
/// (so the same weights), the network without its linear layers, activations and skip. The 1.15x target compares the two in the same run.
/// </summary>
public sealed class BenchNetwork : IBenchSubject
{
    public const string GuitarMl = "guitarml";
    public const string Denoiser = "denoiser";
    public const string RecurrentSuffix = "-recurrent";

    /// <summary>The whole networks, in table order.</summary>
    public static readonly string[] Networks = [GuitarMl, Denoiser];

    /// <summary>Every variant the scenarios time: each network, then its recurrent part.</summary>
    public static readonly string[] All = [GuitarMl, GuitarMl + RecurrentSuffix, Denoiser, Denoiser + RecurrentSuffix];

    /// <summary>The per-sample networks, in table order (names as the shared rtneural-bench harness's).</summary>
    public static readonly string[] PerSample = ["lstm40", "lstm16", "gru40", "lstm8x4", "gru8x4", "gru64", "lstm128"];

    private static readonly ConcurrentDictionary<string, BenchNetwork> Cache = new();

    private BenchNetwork(string name)
    {
        Name = name;
        bool part = name.EndsWith(RecurrentSuffix, StringComparison.Ordinal);
        string network = part ? name[..^RecurrentSuffix.Length] : name;
        (Safetensors, Shape, string[] recurrent) = network switch
        {
            GuitarMl => (new SyntheticNetwork(BenchModel.Seed + 1)
                    .Recurrent("lstm", RnnCellKind.Lstm, 1, 40).Linear("lin", 40, 1).Then("add_input").Build(),
                "LSTM(1, 40) -> Linear(40, 1) + input", new[] { "lstm" }),
            Denoiser => (new SyntheticNetwork(BenchModel.Seed + 2)
                    .Linear("fc_in", 42, 24).Then("tanh")
                    .Recurrent("gru1", RnnCellKind.Gru, 24, 24).Recurrent("gru2", RnnCellKind.Gru, 24, 48)
                    .Linear("fc_out", 48, 22).Then("sigmoid").Build(),
                "Linear(42, 24) -> tanh -> GRU(24, 24) -> GRU(24, 48) -> Linear(48, 22) -> sigmoid", new[] { "gru1", "gru2" }),
            "lstm40" => (RecLin(0, RnnCellKind.Lstm, 1, 40, 1), "LSTM(1, 40) -> Linear(40, 1)", new[] { "rec" }),
            "lstm16" => (RecLin(1, RnnCellKind.Lstm, 1, 16, 1), "LSTM(1, 16) -> Linear(16, 1)", new[] { "rec" }),
            "gru40" => (RecLin(2, RnnCellKind.Gru, 1, 40, 1), "GRU(1, 40) -> Linear(40, 1)", new[] { "rec" }),
            "lstm8x4" => (Stack(3, RnnCellKind.Lstm), "LSTM(1, 8) -> LSTM(8, 8, num_layers=3) -> Linear(8, 1)", new[] { "lstm", "lstm2" }),
            "gru8x4" => (Stack(4, RnnCellKind.Gru), "GRU(1, 8) -> GRU(8, 8, num_layers=3) -> Linear(8, 1)", new[] { "gru", "gru2" }),
            "gru64" => (RecLin(5, RnnCellKind.Gru, 16, 64, 16), "GRU(16, 64) -> Linear(64, 16)", new[] { "rec" }),
            "lstm128" => (RecLin(6, RnnCellKind.Lstm, 32, 128, 1), "LSTM(32, 128) -> Linear(128, 1)", new[] { "rec" }),
            _ => throw new ArgumentException($"unknown bench network '{name}'; known: {string.Join(", ", [.. All, .. PerSample])}", nameof(name)),
        };
        if (part)
        {
            SafetensorsHeader h = SafetensorsHeader.Parse(Safetensors);
            byte[] whole = Safetensors;
            Safetensors = SafetensorsWriter.Write(h.Tensors.Values
                .Where(t => recurrent.Any(m => t.Name.StartsWith(m + ".", StringComparison.Ordinal))).OrderBy(t => t.Begin)
                .Select(t => (t.Name, t.Shape.Select(d => (int)d).ToArray(), h.ReadFloats(whole, t))));
            Layers = recurrent;
            Shape = $"{Shape}: the recurrent modules alone ({string.Join(" -> ", recurrent)})";
        }
        using RnnModel model = Load(Engines.Reference);
        Input = model.InputSize;
        Output = model.OutputSize;
        WeightBytes = model.WeightBytes;
        LinearBytes = model.Layers.OfType<LinearLayer>().Sum(l => l.Weight.Bytes + 4L * l.OutputWidth);
    }

    // The per-sample networks: seeds 100 + index, GuitarML's names (rec, lin) or RTNeural's test models' (lstm, lstm2, dense).
    private static byte[] RecLin(int index, RnnCellKind cell, int input, int hidden, int output) =>
        new SyntheticNetwork(BenchModel.Seed + 100 + index).Recurrent("rec", cell, input, hidden).Linear("lin", hidden, output).Build();

    private static byte[] Stack(int index, RnnCellKind cell)
    {
        string name = cell == RnnCellKind.Lstm ? "lstm" : "gru";
        return new SyntheticNetwork(BenchModel.Seed + 100 + index)
            .Recurrent(name, cell, 1, 8).Recurrent(name + "2", cell, 8, 8, layers: 3).Linear("dense", 8, 1).Build();
    }

    public static BenchNetwork Get(string name) => Cache.GetOrAdd(name, n => new BenchNetwork(n));

    /// <summary>guitarml, guitarml-recurrent, denoiser or denoiser-recurrent.</summary>
    public string Name { get; }

    /// <summary>The layers, as a PyTorch user would write them.</summary>
    public string Shape { get; }

    public bool IsRecurrentPart => Layers is not null;

    /// <summary>The whole network's name (itself for a whole network).</summary>
    public string Network => IsRecurrentPart ? Name[..^RecurrentSuffix.Length] : Name;

    /// <summary>The recurrent part of a whole network (itself for a part).</summary>
    public BenchNetwork RecurrentPart => IsRecurrentPart ? this : Get(Name + RecurrentSuffix);

    public byte[] Safetensors { get; }
    public IReadOnlyList<string>? Layers { get; }
    public int Input { get; }
    public int Output { get; }

    /// <summary>Bytes of every weight and bias: what a batch-1 step reads (the floor's bytes).</summary>
    public long WeightBytes { get; }

    /// <summary>Bytes of the linear layers' weights and biases alone (0 for a recurrent part).</summary>
    public long LinearBytes { get; }

    /// <summary>Loads the network through the public API on <paramref name="backend"/>.</summary>
    public RnnModel Load(string backend) => RnnModel.Load(Safetensors, new RnnOptions { Backend = backend, Layers = Layers });

    public float[] Inputs(int steps, int batch)
    {
        var rng = new Random(BenchModel.Seed ^ (steps * 7919 + batch * 104729 + 31 * Input + Output));
        var xs = GC.AllocateArray<float>(steps * batch * Input, pinned: true);
        for (int i = 0; i < xs.Length; i++) xs[i] = (float)(rng.NextDouble() * 2 - 1);
        return xs;
    }

    public override string ToString() => Name;
}
