using RnnRuntime.Model;

namespace RnnRuntime.Tests.Support;

/// <summary>
/// One case written by Fixtures/make_fixtures.py: the model file (NAME.safetensors, or NAME.pt written
/// by torch.save) and PyTorch's inputs and outputs (NAME.io.safetensors)
/// (float32, plus a float64 recomputation of the same module).
/// </summary>
public sealed class PyTorchFixture
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    /// <summary>Names of every case present (model files, .safetensors or .pt, that have an .io companion).</summary>
    public static IEnumerable<string> Names =>
        Directory.EnumerateFiles(Folder, "*.io.safetensors")
            .Select(p => Path.GetFileName(p)[..^".io.safetensors".Length])
            .OrderBy(n => n, StringComparer.Ordinal);

    public static TheoryData<string> All => new(Names);

    /// <summary>Cases of one recurrent module (h0/c0 in the io file).</summary>
    public static TheoryData<string> Modules => new(Names.Where(n => !n.StartsWith("net_", StringComparison.Ordinal)));

    /// <summary>Network cases written through rnnrt.save (state0/state_n in the io file).</summary>
    public static TheoryData<string> Networks => new(Names.Where(n => n.StartsWith("net_", StringComparison.Ordinal)));

    private readonly Dictionary<string, float[]> _tensors = new();
    private readonly Dictionary<string, long[]> _shapes = new();

    /// <summary>The trained networks of the weight-format accuracy tests (Fixtures/Trained).</summary>
    public static string TrainedFolder => Path.Combine(Folder, "Trained");

    /// <summary>Case <paramref name="name"/> of <paramref name="folder"/> (default: <see cref="Folder"/>).</summary>
    public PyTorchFixture(string name, string? folder = null)
    {
        Name = name;
        folder ??= Folder;
        // The model is NAME.safetensors, or NAME.pt for a torch.save case.
        string pt = Path.Combine(folder, name + ".pt");
        ModelPath = File.Exists(pt) ? pt : Path.Combine(folder, name + ".safetensors");
        ModelBytes = File.ReadAllBytes(ModelPath);
        byte[] io = File.ReadAllBytes(Path.Combine(folder, name + ".io.safetensors"));
        SafetensorsHeader header = SafetensorsHeader.Parse(io);
        Metadata = header.Metadata;
        foreach (SafetensorsTensor t in header.Tensors.Values)
        {
            _tensors[t.Name] = header.ReadFloats(io, t);
            _shapes[t.Name] = t.Shape;
        }
        if (header.Metadata.TryGetValue("layers", out string? layers))
            Layers = System.Text.Json.JsonSerializer.Deserialize<string[]>(layers);
        if (header.Metadata.TryGetValue("nonlinearity", out string? n))
            Nonlinearity = n == "relu" ? RnnNonlinearity.Relu : RnnNonlinearity.Tanh;
        if (header.Metadata.TryGetValue("prefix", out string? prefix))
            ExpectedPrefix = prefix;
    }

    /// <summary>The io file's __metadata__.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The module prefix the case is loaded with (RnnOptions.Prefix), when the io file says (a
    /// checkpoint's "model_state_dict.lstm": its other tensors are outside it); null where the name says it.</summary>
    public string? ExpectedPrefix { get; }

    /// <summary>A torch.save case: the model is PyTorch's own zip format.</summary>
    public bool IsTorchSave => ModelPath.EndsWith(".pt", StringComparison.Ordinal);

    /// <summary>The activation a plain state_dict case is loaded with (RnnOptions.Nonlinearity): the file cannot say it.</summary>
    public RnnNonlinearity? Nonlinearity { get; }

    /// <summary>The layer list a plain state_dict case is loaded with (RnnOptions.Layers), else null.</summary>
    public string[]? Layers { get; }

    /// <summary>A network case: the io file holds the whole network's state as state0 / state_n.</summary>
    public bool IsNetwork => _tensors.ContainsKey("state0");

    public RnnOptions Options(string backend) => new() { Backend = backend, Layers = Layers, Nonlinearity = Nonlinearity, Prefix = ExpectedPrefix };

    public string Name { get; }
    public string ModelPath { get; }
    public byte[] ModelBytes { get; }
    public int Steps => (int)_shapes["x"][0];
    public int Batch => (int)_shapes["x"][1];
    public bool HasCell => _tensors.ContainsKey("c0");

    public float[] this[string tensor] => _tensors[tensor];

    /// <summary>h0 then c0 (or a network's state0), the layout of RnnSession.SetState.</summary>
    public float[] InitialState => IsNetwork ? _tensors["state0"] : HasCell ? [.. _tensors["h0"], .. _tensors["c0"]] : _tensors["h0"];
    public float[] FinalState => IsNetwork ? _tensors["state_n"] : HasCell ? [.. _tensors["h_n"], .. _tensors["c_n"]] : _tensors["h_n"];
    public float[] FinalState64 => IsNetwork ? _tensors["state_n64"] : HasCell ? [.. _tensors["h_n64"], .. _tensors["c_n64"]] : _tensors["h_n64"];

    public RnnModel Load(string backend) => RnnModel.Load(ModelBytes, Options(backend));

    /// <summary>Loaded on <paramref name="backend"/> with its weights in <paramref name="format"/>.</summary>
    public RnnModel Load(string backend, RnnWeightFormat format) => RnnModel.Load(ModelBytes, Options(backend) with { WeightFormat = format });

    public override string ToString() => Name;
}
