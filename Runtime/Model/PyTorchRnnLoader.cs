using System.Globalization;
using System.Text.RegularExpressions;

namespace RnnRuntime.Model;

/// <summary>What a PyTorch nn.RNN / nn.GRU / nn.LSTM state_dict says about a model.</summary>
internal sealed record RnnWeights(
    RnnCellKind Cell, RnnNonlinearity Nonlinearity, int InputSize, int HiddenSize, int NumLayers,
    int NumDirections, bool HasBias, string Prefix, LayerWeights[] Layers);

/// <summary>
/// Maps PyTorch tensor names (<c>[prefix.]weight_ih_l{k}[_reverse]</c> and friends) to layers, infers
/// the cell kind and sizes from the shapes, and checks that everything is consistent. Tensors that do
/// not belong to an RNN module (a linear head, say) are ignored.
/// </summary>
internal static partial class PyTorchRnnLoader
{
    [GeneratedRegex(@"^(?<prefix>(?:.*\.)?)(?<param>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(?<layer>[0-9]+)(?<rev>_reverse)?$")]
    private static partial Regex RnnTensorName();

    private static readonly string[] Params = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];

    public static RnnWeights Load(ReadOnlySpan<byte> file, RnnOptions options)
    {
        SafetensorsHeader header = SafetensorsHeader.Parse(file);

        // Group the RNN-looking tensors by module prefix.
        var byPrefix = new Dictionary<string, Dictionary<(string Param, int Layer, int Dir), SafetensorsTensor>>(StringComparer.Ordinal);
        foreach (SafetensorsTensor t in header.Tensors.Values)
        {
            Match m = RnnTensorName().Match(t.Name);
            if (!m.Success) continue;
            if (!int.TryParse(m.Groups["layer"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int layer) || layer > 1000)
                throw new RnnModelException("layer index is out of range (0..1000)", t.Name);
            string prefix = m.Groups["prefix"].Value;
            if (!byPrefix.TryGetValue(prefix, out var group)) byPrefix[prefix] = group = new();
            group[(m.Groups["param"].Value, layer, m.Groups["rev"].Success ? 1 : 0)] = t;
        }

        string chosen = ChoosePrefix(byPrefix.Keys, options.Prefix, header);
        var tensors = byPrefix[chosen];
        string N(string param, int layer, int dir) => $"{chosen}{param}_l{layer}{(dir == 1 ? "_reverse" : "")}";

        if (tensors.Keys.Any(k => k.Param == "weight_hr"))
            throw new RnnModelException("LSTM projections (proj_size > 0) are not supported", N("weight_hr", 0, 0));

        // Sizes and cell kind from layer 0.
        SafetensorsTensor hh0 = Require(tensors, ("weight_hh", 0, 0), N("weight_hh", 0, 0));
        if (hh0.Shape.Length != 2 || hh0.Shape[1] < 1 || hh0.Shape[0] % hh0.Shape[1] != 0)
            throw new RnnModelException($"shape {hh0.ShapeText} is not (G*hidden, hidden) with G = 1 (RNN), 3 (GRU) or 4 (LSTM)", hh0.Name);
        if (hh0.Shape[1] > 1 << 16)
            throw new RnnModelException($"hidden size {hh0.Shape[1]} exceeds the supported maximum of 65536", hh0.Name);
        int hidden = (int)hh0.Shape[1];
        long gates = hh0.Shape[0] / hidden;
        RnnCellKind cell = gates switch
        {
            1 => RnnCellKind.Rnn,
            3 => RnnCellKind.Gru,
            4 => RnnCellKind.Lstm,
            _ => throw new RnnModelException($"shape {hh0.ShapeText} has {gates} gate blocks of {hidden} rows; expected 1 (RNN), 3 (GRU) or 4 (LSTM)", hh0.Name),
        };
        int rows = (int)gates * hidden;
        SafetensorsTensor ih0 = Require(tensors, ("weight_ih", 0, 0), N("weight_ih", 0, 0));
        if (ih0.Shape.Length != 2 || ih0.Shape[0] != rows || ih0.Shape[1] < 1 || ih0.Shape[1] > 1 << 20)
            throw new RnnModelException($"shape {ih0.ShapeText} does not match the expected ({rows}, input_size) for a {cell.Name()} with hidden size {hidden}", ih0.Name);
        int input = (int)ih0.Shape[1];

        int layers = tensors.Keys.Max(k => k.Layer) + 1;
        int dirs = tensors.Keys.Any(k => k.Dir == 1) ? 2 : 1;
        bool hasBias = tensors.ContainsKey(("bias_ih", 0, 0)) || tensors.ContainsKey(("bias_hh", 0, 0));

        // Every (layer, direction) has exactly the same set of tensors; nothing else is allowed.
        foreach (var key in tensors.Keys)
        {
            if (key.Param.StartsWith("bias", StringComparison.Ordinal) && !hasBias)
                throw new RnnModelException($"layer 0 has no biases but this tensor is a bias; a model has biases everywhere or nowhere", N(key.Param, key.Layer, key.Dir));
        }
        for (int k = 0; k < layers; k++)
            for (int d = 0; d < dirs; d++)
                foreach (string p in Params)
                {
                    if (!hasBias && p.StartsWith("bias", StringComparison.Ordinal)) continue;
                    if (!tensors.ContainsKey((p, k, d)))
                        throw new RnnModelException($"missing: a {layers}-layer{(dirs == 2 ? " bidirectional" : "")} {cell.Name()} needs it (the file has tensors for layer {layers - 1}{(dirs == 2 ? " and _reverse ones" : "")})", N(p, k, d));
                }

        RnnNonlinearity nonlinearity = ReadNonlinearity(header, cell);
        CheckMetadata(header, cell, input, hidden, layers, dirs);

        var result = new LayerWeights[layers * dirs];
        for (int k = 0; k < layers; k++)
        {
            int inK = k == 0 ? input : dirs * hidden;
            for (int d = 0; d < dirs; d++)
            {
                float[] wih = ReadChecked(file, header, tensors[("weight_ih", k, d)], [rows, inK], cell, hidden);
                float[] whh = ReadChecked(file, header, tensors[("weight_hh", k, d)], [rows, hidden], cell, hidden);
                float[] bih = hasBias ? ReadChecked(file, header, tensors[("bias_ih", k, d)], [rows], cell, hidden) : new float[rows];
                float[] bhh = hasBias ? ReadChecked(file, header, tensors[("bias_hh", k, d)], [rows], cell, hidden) : new float[rows];
                result[k * dirs + d] = new LayerWeights(k, d, rows, inK, hidden, wih, whh, bih, bhh);
            }
        }
        return new RnnWeights(cell, nonlinearity, input, hidden, layers, dirs, hasBias, chosen, result);
    }

    private static string ChoosePrefix(IEnumerable<string> prefixes, string? wanted, SafetensorsHeader header)
    {
        var all = prefixes.OrderBy(p => p, StringComparer.Ordinal).ToList();
        string Show(string p) => p.Length == 0 ? "(no prefix)" : $"'{p.TrimEnd('.')}'";
        if (wanted is not null)
        {
            string w = wanted.Length == 0 || wanted.EndsWith('.') ? wanted : wanted + ".";
            if (all.Contains(w)) return w;
            throw new RnnModelException($"no RNN tensors under prefix '{wanted}'; the file has RNN modules: {(all.Count == 0 ? "none" : string.Join(", ", all.Select(Show)))}");
        }
        if (all.Count == 1) return all[0];
        if (all.Count == 0)
        {
            string names = string.Join(", ", header.Tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).Take(10));
            throw new RnnModelException($"no RNN tensors (weight_ih_l0, weight_hh_l0, ...) found; the file holds {header.Tensors.Count} tensors{(names.Length > 0 ? ": " + names : "")}");
        }
        throw new RnnModelException($"the file holds {all.Count} RNN modules ({string.Join(", ", all.Select(Show))}); choose one with RnnOptions.Prefix");
    }

    private static SafetensorsTensor Require(Dictionary<(string, int, int), SafetensorsTensor> tensors, (string, int, int) key, string name)
        => tensors.TryGetValue(key, out var t) ? t : throw new RnnModelException("missing: every RNN module has weight_ih_l0 and weight_hh_l0", name);

    private static float[] ReadChecked(ReadOnlySpan<byte> file, SafetensorsHeader header, SafetensorsTensor t, long[] expected, RnnCellKind cell, int hidden)
    {
        if (!t.Shape.SequenceEqual(expected))
            throw new RnnModelException($"shape {t.ShapeText} does not match the expected ({string.Join(", ", expected)}) for a {cell.Name()} with hidden size {hidden}", t.Name);
        float[] data = header.ReadFloats(file, t);
        for (int i = 0; i < data.Length; i++)
        {
            if (!float.IsFinite(data[i]))
            {
                string at = expected.Length == 2 ? $"[{i / expected[1]}, {i % expected[1]}]" : $"[{i}]";
                throw new RnnModelException($"non-finite weight {data[i]} at {at}", t.Name);
            }
        }
        return data;
    }

    private static RnnNonlinearity ReadNonlinearity(SafetensorsHeader header, RnnCellKind cell)
    {
        if (!header.Metadata.TryGetValue("nonlinearity", out string? value)) return RnnNonlinearity.Tanh;
        RnnNonlinearity n = value switch
        {
            "tanh" => RnnNonlinearity.Tanh,
            "relu" => RnnNonlinearity.Relu,
            _ => throw new RnnModelException($"__metadata__ nonlinearity is '{value}'; expected 'tanh' or 'relu'"),
        };
        if (n == RnnNonlinearity.Relu && cell != RnnCellKind.Rnn)
            throw new RnnModelException($"__metadata__ nonlinearity 'relu' applies to RNN cells only, but the tensors describe a {cell.Name()}");
        return n;
    }

    /// <summary>Optional metadata (written by our fixture script, not by PyTorch) must agree with the tensors.</summary>
    private static void CheckMetadata(SafetensorsHeader header, RnnCellKind cell, int input, int hidden, int layers, int dirs)
    {
        void Check(string key, string actual)
        {
            if (header.Metadata.TryGetValue(key, out string? v) && !string.Equals(v, actual, StringComparison.OrdinalIgnoreCase))
                throw new RnnModelException($"__metadata__ {key} is '{v}' but the tensors say {actual}");
        }
        Check("cell", cell.Name());
        Check("input_size", input.ToString(CultureInfo.InvariantCulture));
        Check("hidden_size", hidden.ToString(CultureInfo.InvariantCulture));
        Check("num_layers", layers.ToString(CultureInfo.InvariantCulture));
        Check("bidirectional", dirs == 2 ? "true" : "false");
    }
}
