using System.Globalization;
using System.Text.RegularExpressions;

namespace RnnRuntime.Model;

/// <summary>
/// Maps the tensors of one PyTorch nn.RNN / nn.GRU / nn.LSTM module
/// (<c>[prefix.]weight_ih_l{k}[_reverse]</c> and friends) to a <see cref="RecurrentLayer"/>: infers the
/// cell kind and sizes from the shapes and checks that everything is consistent.
/// </summary>
internal static partial class RecurrentModuleLoader
{
    [GeneratedRegex(@"^(?<prefix>(?:.*\.)?)(?<param>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(?<layer>[0-9]+)(?<rev>_reverse)?$")]
    private static partial Regex RnnTensorName();

    /// <summary>nn.RNNCell / GRUCell / LSTMCell: the same tensors without the layer suffix.</summary>
    [GeneratedRegex(@"^(?<prefix>(?:.*\.)?)(?<param>weight_ih|weight_hh|bias_ih|bias_hh)$")]
    private static partial Regex CellTensorName();

    private static readonly string[] Params = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];
    private static readonly string[] ParamsWithProjection = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"];

    /// <summary>One module's tensors by (parameter, layer, direction); a cell's are layer 0, direction 0.</summary>
    internal sealed class ModuleTensors : Dictionary<(string Param, int Layer, int Dir), SafetensorsTensor>
    {
        /// <summary>An nn.*Cell: tensor names without the <c>_l{k}</c> suffix.</summary>
        public bool IsCell { get; set; }

        /// <summary>Whether some tensor of the prefix had the other naming (a cell's beside a module's).</summary>
        public string? MixedWith { get; set; }
    }

    /// <summary>The recurrent modules and cells of a file: tensors grouped by module prefix ("" or ending in '.').</summary>
    public static Dictionary<string, ModuleTensors> FindModules(SafetensorsHeader header)
    {
        var byPrefix = new Dictionary<string, ModuleTensors>(StringComparer.Ordinal);
        foreach (SafetensorsTensor t in header.Tensors.Values)
        {
            Match m = RnnTensorName().Match(t.Name);
            bool cell = false;
            int layer = 0;
            if (m.Success)
            {
                if (!int.TryParse(m.Groups["layer"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out layer) || layer > 1000)
                    throw new RnnModelException("layer index is out of range (0..1000)", t.Name);
            }
            else
            {
                m = CellTensorName().Match(t.Name);
                if (!m.Success) continue;
                cell = true;
            }
            string prefix = m.Groups["prefix"].Value;
            if (!byPrefix.TryGetValue(prefix, out var group)) byPrefix[prefix] = group = new() { IsCell = cell };
            if (group.IsCell != cell) group.MixedWith ??= t.Name;
            group[(m.Groups["param"].Value, layer, m.Groups["rev"].Success ? 1 : 0)] = t;
        }
        return byPrefix;
    }

    /// <summary>"(no prefix)" or 'encoder.gru', for messages.</summary>
    public static string Show(string prefix) => prefix.Length == 0 ? "(no prefix)" : $"'{prefix.TrimEnd('.')}'";

    /// <summary>
    /// Loads the module under <paramref name="prefix"/> ("" or ending in '.'). <paramref name="expected"/>:
    /// the cell kind a layer list says it is, or null to take it from the shapes. <paramref name="fileDefaultIsStrict"/>:
    /// whether <paramref name="nonlinearity"/> was said of this module (relu on a GRU or LSTM is then an error).
    /// </summary>
    public static RecurrentLayer Load(ReadOnlySpan<byte> file, SafetensorsHeader header, int index, string prefix, ModuleTensors tensors,
        RnnCellKind? expected, RnnNonlinearity nonlinearity, bool fileDefaultIsStrict)
    {
        string N(string param, int layer, int dir) => tensors.IsCell ? prefix + param : $"{prefix}{param}_l{layer}{(dir == 1 ? "_reverse" : "")}";

        if (tensors.MixedWith is string mixed)
            throw new RnnModelException($"the prefix {Show(prefix)} has both cell tensors (weight_ih, as nn.GRUCell names them) and module tensors (weight_ih_l0, as nn.GRU does); one prefix is one module", mixed);

        // Sizes and cell kind from layer 0. With a projection (PyTorch's proj_size, LSTM only) H and P come
        // from weight_hr_l0 (P, H) and W_hh is (4H, P).
        SafetensorsTensor hh0 = Require(tensors, ("weight_hh", 0, 0), N("weight_hh", 0, 0), tensors.IsCell);
        bool projected = tensors.Keys.Any(k => k.Param == "weight_hr");
        int hidden, proj = 0;
        long gates;
        if (projected)
        {
            if (!tensors.TryGetValue(("weight_hr", 0, 0), out SafetensorsTensor? hr0))
                throw new RnnModelException("missing: every layer and direction of an LSTM with projections has weight_hr, or none does", N("weight_hr", 0, 0));
            if (hr0.Shape.Length != 2 || hr0.Shape[0] < 1 || hr0.Shape[1] <= hr0.Shape[0])
                throw new RnnModelException($"shape {hr0.ShapeText} is not (proj_size, hidden_size) with 1 <= proj_size < hidden_size, as PyTorch requires of an LSTM projection", hr0.Name);
            if (hr0.Shape[1] > 1 << 16)
                throw new RnnModelException($"hidden size {hr0.Shape[1]} exceeds the supported maximum of 65536", hr0.Name);
            hidden = (int)hr0.Shape[1];
            proj = (int)hr0.Shape[0];
            // W_hh of G*H rows with G = 1 or 3, read against weight_hr's H or its own columns: an RNN or GRU.
            long other = hh0.Shape.Length != 2 || hh0.Shape[0] == 4L * hidden ? 0
                : hh0.Shape[0] % hidden == 0 && hh0.Shape[0] / hidden is 1 or 3 ? hh0.Shape[0] / hidden
                : hh0.Shape[1] > 0 && hh0.Shape[0] % hh0.Shape[1] == 0 && hh0.Shape[0] / hh0.Shape[1] is 1 or 3 ? hh0.Shape[0] / hh0.Shape[1] : 0;
            if (other != 0)
                throw new RnnModelException($"only an LSTM may have a projection (weight_hr, PyTorch's proj_size), but {hh0.Name} of shape {hh0.ShapeText} is that of {(other == 1 ? "an rnn" : "a gru")}", hr0.Name);
            if (hh0.Shape.Length != 2 || hh0.Shape[0] != 4L * hidden || hh0.Shape[1] != proj)
                throw new RnnModelException($"shape {hh0.ShapeText} does not match the expected ({4L * hidden}, {proj}) = (4*hidden, proj_size) of an LSTM whose {hr0.Name} is ({proj}, {hidden})", hh0.Name);
            gates = 4;
        }
        else
        {
            if (hh0.Shape.Length != 2 || hh0.Shape[1] < 1 || hh0.Shape[0] % hh0.Shape[1] != 0)
                throw new RnnModelException($"shape {hh0.ShapeText} is not (G*hidden, hidden) with G = 1 (RNN), 3 (GRU) or 4 (LSTM)", hh0.Name);
            if (hh0.Shape[1] > 1 << 16)
                throw new RnnModelException($"hidden size {hh0.Shape[1]} exceeds the supported maximum of 65536", hh0.Name);
            hidden = (int)hh0.Shape[1];
            gates = hh0.Shape[0] / hidden;
        }
        int width = projected ? proj : hidden;   // h's width
        RnnCellKind cell = gates switch
        {
            1 => RnnCellKind.Rnn,
            3 => RnnCellKind.Gru,
            4 => RnnCellKind.Lstm,
            _ => throw new RnnModelException($"shape {hh0.ShapeText} has {gates} gate blocks of {hidden} rows; expected 1 (RNN), 3 (GRU) or 4 (LSTM)", hh0.Name),
        };
        if (expected is RnnCellKind want && want != cell)
            throw new RnnModelException($"the layer list says {CellSpec.Of(want).Name}, but shape {hh0.ShapeText} is that of a {CellSpec.Of(cell).Name} with hidden size {hidden}{(projected ? $" and proj_size {proj}" : "")}", hh0.Name);
        // A file-wide "nonlinearity" names the activation of the rnn modules; only where it was said of
        // this module (or the file is this one module) is it an error for a GRU or LSTM.
        if (nonlinearity == RnnNonlinearity.Relu && cell != RnnCellKind.Rnn && !fileDefaultIsStrict) nonlinearity = RnnNonlinearity.Tanh;
        if (nonlinearity == RnnNonlinearity.Relu && cell != RnnCellKind.Rnn)
            throw new RnnModelException($"nonlinearity 'relu' applies to RNN cells only, but the tensors describe a {CellSpec.Of(cell).Name}", hh0.Name);
        int rows = (int)gates * hidden;
        SafetensorsTensor ih0 = Require(tensors, ("weight_ih", 0, 0), N("weight_ih", 0, 0), tensors.IsCell);
        if (ih0.Shape.Length != 2 || ih0.Shape[0] != rows || ih0.Shape[1] < 1 || ih0.Shape[1] > 1 << 20)
            throw new RnnModelException($"shape {ih0.ShapeText} does not match the expected ({rows}, input_size) for a {CellSpec.Of(cell).Name} with hidden size {hidden}", ih0.Name);
        int input = (int)ih0.Shape[1];

        int layers = tensors.Keys.Max(k => k.Layer) + 1;
        int dirs = tensors.Keys.Any(k => k.Dir == 1) ? 2 : 1;
        bool hasBias = tensors.ContainsKey(("bias_ih", 0, 0)) || tensors.ContainsKey(("bias_hh", 0, 0));

        // Every (layer, direction) has exactly the same set of tensors; nothing else is allowed.
        foreach (var key in tensors.Keys)
        {
            if (key.Param.StartsWith("bias", StringComparison.Ordinal) && !hasBias)
                throw new RnnModelException("layer 0 has no biases but this tensor is a bias; a model has biases everywhere or nowhere", N(key.Param, key.Layer, key.Dir));
        }
        for (int k = 0; k < layers; k++)
            for (int d = 0; d < dirs; d++)
                foreach (string p in projected ? ParamsWithProjection : Params)
                {
                    if (!hasBias && p.StartsWith("bias", StringComparison.Ordinal)) continue;
                    if (!tensors.ContainsKey((p, k, d)) && p == "weight_hr")
                        throw new RnnModelException("missing: every layer and direction of an LSTM with projections has weight_hr, or none does", N(p, k, d));
                    if (!tensors.ContainsKey((p, k, d)))
                        throw new RnnModelException($"missing: a {layers}-layer{(dirs == 2 ? " bidirectional" : "")} {CellSpec.Of(cell).Name} needs it (the file has tensors for layer {layers - 1}{(dirs == 2 ? " and _reverse ones" : "")})", N(p, k, d));
                }

        string what = $"a {CellSpec.Of(cell).Name} with hidden size {hidden}{(projected ? $" and proj_size {proj}" : "")}";
        var result = new LayerWeights[layers * dirs];
        for (int k = 0; k < layers; k++)
        {
            int inK = k == 0 ? input : dirs * width;
            for (int d = 0; d < dirs; d++)
            {
                var wih = new WeightTensor(rows, inK, CheckedTensor.Read(file, header, tensors[("weight_ih", k, d)], [rows, inK], what));
                var whh = new WeightTensor(rows, width, CheckedTensor.Read(file, header, tensors[("weight_hh", k, d)], [rows, width], what));
                WeightTensor? whr = projected ? new WeightTensor(proj, hidden, CheckedTensor.Read(file, header, tensors[("weight_hr", k, d)], [proj, hidden], what)) : null;
                float[] bih = hasBias ? CheckedTensor.Read(file, header, tensors[("bias_ih", k, d)], [rows], what) : new float[rows];
                float[] bhh = hasBias ? CheckedTensor.Read(file, header, tensors[("bias_hh", k, d)], [rows], what) : new float[rows];
                result[k * dirs + d] = new LayerWeights(k, d, hidden, wih, whh, bih, bhh, whr);
            }
        }
        return new RecurrentLayer(index, prefix.TrimEnd('.'), cell, nonlinearity, input, hidden, layers, dirs, hasBias, result, proj) { IsCell = tensors.IsCell };
    }

    private static SafetensorsTensor Require(ModuleTensors tensors, (string, int, int) key, string name, bool cell)
        => tensors.TryGetValue(key, out var t) ? t : throw new RnnModelException(cell
            ? "missing: every recurrent cell has weight_ih and weight_hh"
            : "missing: every recurrent module has weight_ih_l0 and weight_hh_l0", name);
}
