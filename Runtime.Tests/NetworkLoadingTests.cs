using RnnRuntime.Model;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>
/// Networks: where the layer list comes from (the file's rnnrt.network metadata, RnnOptions.Layers, or
/// neither: the file's one module), what a loaded network reports, and every malformed or inconsistent
/// layer list failing with an RnnModelException that names the layer.
/// </summary>
public class NetworkLoadingTests
{
    private static readonly RnnOptions Ref = new() { Backend = "reference" };

    private static SyntheticNetwork Denoiser(int seed = 1) => new SyntheticNetwork(seed)
        .Linear("fc_in", 42, 24).Then("tanh")
        .Recurrent("gru1", RnnCellKind.Gru, 24, 24)
        .Recurrent("gru2", RnnCellKind.Gru, 24, 48)
        .Linear("fc", 48, 22).Then("sigmoid");

    private static RnnModelException Fails(byte[] file, RnnOptions? options = null)
        => Assert.Throws<RnnModelException>(() => { using var m = RnnModel.Load(file, options ?? Ref); });

    /// <summary>A denoiser's tensors with the given rnnrt.network value.</summary>
    private static byte[] WithLayerList(string json)
    {
        byte[] plain = Denoiser().Build(withLayerList: false);
        SafetensorsHeader h = SafetensorsHeader.Parse(plain);
        var tensors = h.Tensors.Values.OrderBy(t => t.Begin).Select(t => (t.Name, t.Shape.Select(d => (int)d).ToArray(), h.ReadFloats(plain, t)));
        return SafetensorsWriter.Write(tensors, new Dictionary<string, string> { ["rnnrt.network"] = json });
    }

    private static string List(params string[] layers) => $"{{\"version\":1,\"layers\":[{string.Join(",", layers)}]}}";

    [Fact]
    public void NetworkReportsItsShape()
    {
        using var m = RnnModel.Load(Denoiser().Build(), Ref);
        Assert.Equal(42, m.InputSize);
        Assert.Equal(22, m.OutputSize);
        Assert.Equal(6, m.Layers.Count);
        Assert.Equal([LayerKind.Linear, LayerKind.Tanh, LayerKind.Recurrent, LayerKind.Recurrent, LayerKind.Linear, LayerKind.Sigmoid], m.Layers.Select(l => l.Kind));
        Assert.Equal(["fc_in", "tanh", "gru1", "gru2", "fc", "sigmoid"], m.Layers.Select(l => l.Name));
        Assert.Equal([24, 24, 24, 48, 22, 22], m.Layers.Select(l => l.OutputWidth));
        // Cell, HiddenSize...: the first recurrent module's; the state holds both modules.
        Assert.Equal(RnnCellKind.Gru, m.Cell);
        Assert.Equal(24, m.HiddenSize);
        Assert.Equal("gru1", m.Prefix);
        Assert.Equal(3 * (24 + 48), m.StateLength(3));
        Assert.False(m.IsBidirectional);
        long bytes = 4L * (42 * 24 + 24) + 4L * (3 * 24 * (24 + 24) + 2 * 3 * 24) + 4L * (3 * 48 * (24 + 48) + 2 * 3 * 48) + 4L * (48 * 22 + 22);
        Assert.Equal(bytes, m.WeightBytes);
        Assert.Contains("linear 'fc_in' 42 -> 24 -> tanh", m.ToString());
        using RnnSession s = m.CreateSession(3);
        Assert.Equal(3 * 42, s.InputLength);
        Assert.Equal(3 * 22, s.OutputLength);
    }

    [Fact]
    public void OptionsLayersOnAPlainStateDictEqualsTheFilesOwnList()
    {
        SyntheticNetwork net = Denoiser(seed: 4);
        using var fromFile = RnnModel.Load(net.Build(), Ref);
        using var fromOptions = RnnModel.Load(net.Build(withLayerList: false), Ref with { Layers = net.LayerNames });
        float[] xs = TestModels.Inputs(5 * 2 * 42, 1);
        float[] a = new float[5 * 2 * 22], b = new float[a.Length];
        using (RnnSession s = fromFile.CreateSession(2)) s.Run(xs, 5, a);
        using (RnnSession s = fromOptions.CreateSession(2)) s.Run(xs, 5, b);
        Assert.Equal(a, b);
        // Without a list the same plain file is its... two GRU modules: a clear "which one" error.
        RnnModelException e = Fails(net.Build(withLayerList: false));
        Assert.Contains("2 RNN modules ('gru1', 'gru2')", e.Message);
        Assert.Contains("RnnOptions.Layers", e.Message);
    }

    [Fact]
    public void OptionsOverrideTheFileAndPrefixSitsInFrontOfEveryModule()
    {
        // A checkpoint-like file: the whole network under "model."; the list names modules inside it.
        byte[] plain = Denoiser().Build(withLayerList: false);
        SafetensorsHeader h = SafetensorsHeader.Parse(plain);
        byte[] nested = SafetensorsWriter.Write(h.Tensors.Values.OrderBy(t => t.Begin)
            .Select(t => ("model." + t.Name, t.Shape.Select(d => (int)d).ToArray(), h.ReadFloats(plain, t))));
        using var m = RnnModel.Load(nested, Ref with { Prefix = "model", Layers = ["fc_in", "tanh", "gru1", "gru2", "fc"] });
        Assert.Equal(22, m.OutputSize);
        Assert.Equal(5, m.Layers.Count);
        Assert.Equal("model.fc_in", m.Layers[0].Name);
        // Options win over the file's own list; one that leaves modules out fails naming them.
        using var other = RnnModel.Load(Denoiser().Build(), Ref with { Layers = ["fc_in", "relu", "gru1", "gru2", "fc"] });
        Assert.Equal(LayerKind.Relu, other.Layers[1].Kind);
        RnnModelException e = Fails(Denoiser().Build(), Ref with { Layers = ["fc_in", "relu", "gru1"] });
        Assert.Contains("6 tensors of the file belong to no layer: gru2.weight_ih_l0", e.Message);
        Assert.Contains("RnnOptions.Layers leaves them out", e.Message);
    }

    [Fact]
    public void ElementwiseLayersFirstTakeTheInputWidth()
    {
        byte[] file = new SyntheticNetwork(2).Then("add_input").Then("tanh").Recurrent("lstm", RnnCellKind.Lstm, 6, 9).Build();
        using var m = RnnModel.Load(file, Ref);
        Assert.Equal(6, m.InputSize);
        Assert.Equal([6, 6, 9], m.Layers.Select(l => l.OutputWidth));
    }

    [Fact]
    public void MalformedLayerListsFail()
    {
        string gru1 = "{\"kind\":\"gru\",\"prefix\":\"gru1\"}";
        Assert.Contains("is not valid JSON", Fails(WithLayerList("{\"version\":1,")).Message);
        Assert.Contains("must be a JSON object", Fails(WithLayerList("[1]")).Message);
        Assert.Contains("unknown key 'extra'", Fails(WithLayerList("{\"version\":1,\"layers\":[" + gru1 + "],\"extra\":0}")).Message);
        Assert.Contains("no numeric \"version\"", Fails(WithLayerList("{\"layers\":[" + gru1 + "]}")).Message);
        Assert.Contains("is version 2; this runtime reads version 1", Fails(WithLayerList("{\"version\":2,\"layers\":[" + gru1 + "]}")).Message);
        Assert.Contains("no \"layers\" array", Fails(WithLayerList("{\"version\":1}")).Message);
        Assert.Contains("empty \"layers\" array", Fails(WithLayerList(List())).Message);
        Assert.Contains("layer 0 is String", Fails(WithLayerList(List("\"gru1\""))).Message);
        Assert.Contains("layer 1 has no \"kind\"", Fails(WithLayerList(List(gru1, "{\"prefix\":\"fc\"}"))).Message);
        Assert.Contains("layer 1: conv1d (nn.Conv1d) is not supported yet", Fails(WithLayerList(List(gru1, "{\"kind\":\"conv1d\",\"prefix\":\"fc\"}"))).Message);
        Assert.Contains("layer 1 has unknown kind 'dense'", Fails(WithLayerList(List(gru1, "{\"kind\":\"dense\",\"prefix\":\"fc\"}"))).Message);
        Assert.Contains("layer 1 (linear) has no \"prefix\"", Fails(WithLayerList(List(gru1, "{\"kind\":\"linear\"}"))).Message);
        Assert.Contains("layer 1 (tanh) has a \"prefix\"", Fails(WithLayerList(List(gru1, "{\"kind\":\"tanh\",\"prefix\":\"fc\"}"))).Message);
        Assert.Contains("layer 0 has an unknown key 'nonlinearity'; a gru layer has kind, prefix", Fails(WithLayerList(List("{\"kind\":\"gru\",\"prefix\":\"gru1\",\"nonlinearity\":\"relu\"}"))).Message);
        Assert.Contains("layer 0 \"prefix\" is Number", Fails(WithLayerList(List("{\"kind\":\"gru\",\"prefix\":3}"))).Message);
        Assert.Contains("unknown key 'bias'", Fails(WithLayerList(List("{\"kind\":\"gru\",\"prefix\":\"gru1\",\"bias\":\"false\"}"))).Message);
        Assert.Contains("has no recurrent module", Fails(WithLayerList(List("{\"kind\":\"linear\",\"prefix\":\"fc_in\"}", "{\"kind\":\"tanh\"}"))).Message);
    }

    [Fact]
    public void InconsistentLayerListsNameTheLayer()
    {
        string fcIn = "{\"kind\":\"linear\",\"prefix\":\"fc_in\"}", tanh = "{\"kind\":\"tanh\"}", gru1 = "{\"kind\":\"gru\",\"prefix\":\"gru1\"}";
        // A prefix with no tensors: the message lists what the file has nearby.
        RnnModelException e = Fails(WithLayerList(List(fcIn, tanh, "{\"kind\":\"gru\",\"prefix\":\"gru9\"}")));
        Assert.Contains("layer 2 (gru 'gru9'): no gru tensors under prefix 'gru9'", e.Message);
        Assert.Contains("gru1.weight_hh_l0", e.Message);
        // The list says one kind, the tensors another.
        Assert.Contains("layer 2 (lstm 'gru1'): tensor 'gru1.weight_hh_l0': the layer list says lstm",
            Fails(WithLayerList(List(fcIn, tanh, "{\"kind\":\"lstm\",\"prefix\":\"gru1\"}"))).Message);
        Assert.Contains("layer 0 (linear 'gru1'): no linear tensors under prefix 'gru1'",
            Fails(WithLayerList(List("{\"kind\":\"linear\",\"prefix\":\"gru1\"}"))).Message);
        // Widths that do not chain.
        Assert.Contains("layer 1 (linear 'fc_in'): takes 42 inputs, but the layer before it gives 24",
            Fails(WithLayerList(List(gru1, fcIn))).Message);
        Assert.Contains("layer 3 (linear 'fc'): takes 48 inputs, but the layer before it gives 24",
            Fails(WithLayerList(List(fcIn, tanh, gru1, "{\"kind\":\"linear\",\"prefix\":\"fc\"}"))).Message);
        // add_input needs the network's input width.
        Assert.Contains("layer 3 (add_input): add_input adds the network input (42 wide) to a value 24 wide",
            Fails(WithLayerList(List(fcIn, tanh, gru1, "{\"kind\":\"add_input\"}"))).Message);
        // Tensors of a listed module missing or misshapen.
        byte[] noHh = Edit(Denoiser().Build(), ts => ts.Where(t => t.Name != "gru2.weight_hh_l0"));
        Assert.Contains("layer 3 (gru 'gru2'): tensor 'gru2.weight_hh_l0': missing", Fails(noHh).Message);
        byte[] badBias = Edit(Denoiser().Build(), ts => ts.Select(t => t.Name == "fc.bias" ? (t.Name, [21], t.Data[..21]) : t));
        Assert.Contains("layer 4 (linear 'fc'): tensor 'fc.bias': shape (21) does not match the expected (22)", Fails(badBias).Message);
        byte[] badWeight = Edit(Denoiser().Build(), ts => ts.Select(t => t.Name == "fc.weight" ? (t.Name, [22 * 48], t.Data) : t));
        Assert.Contains("tensor 'fc.weight': shape (1056) is not that of a linear layer's weight", Fails(badWeight).Message);
        byte[] nonFinite = Edit(Denoiser().Build(), ts => ts.Select(t => t.Name == "fc_in.weight" ? (t.Name, t.Shape, t.Data.Select((v, i) => i == 5 ? float.NaN : v).ToArray()) : t));
        Assert.Contains("non-finite weight NaN at [0, 5]", Fails(nonFinite).Message);
    }

    [Fact]
    public void BadOptionsLayersFail()
    {
        byte[] plain = Denoiser().Build(withLayerList: false);
        Assert.Contains("RnnOptions.Layers is empty", Fails(plain, Ref with { Layers = [] }).Message);
        Assert.Contains("RnnOptions.Layers[1] is empty", Fails(plain, Ref with { Layers = ["fc_in", " "] }).Message);
        RnnModelException e = Fails(plain, Ref with { Layers = ["fc_in", "tanh", "gruu"] });
        Assert.Contains("layer 2 (module 'gruu'): no tensors under prefix 'gruu'", e.Message);
        Assert.Contains("gru1.weight_ih_l0", e.Message);
        Assert.Contains("expected gruu.weight (linear) or gruu.weight_ih_l0", e.Message);
        Assert.Contains("or one of the activations tanh, relu, sigmoid, add_input", e.Message);
        Assert.Contains("has no recurrent module", Fails(plain, Ref with { Layers = ["fc_in", "sigmoid"] }).Message);
        Assert.Contains("RnnOptions.Layers has 1025 entries", Fails(plain, Ref with { Layers = Enumerable.Repeat("tanh", 1025).ToArray() }).Message);
    }

    [Fact]
    public void StepOnANetworkWithABidirectionalModuleIsRefused()
    {
        byte[] file = new SyntheticNetwork(3).Recurrent("gru", RnnCellKind.Gru, 5, 7, bidirectional: true).Linear("fc", 14, 3).Build();
        using var m = RnnModel.Load(file, Ref);
        Assert.True(m.IsBidirectional);
        using RnnSession s = m.CreateSession();
        var e = Assert.Throws<InvalidOperationException>(() => s.Step(new float[5], new float[3]));
        Assert.Contains("Use Run", e.Message);
        var ys = new float[4 * 3];
        s.Run(TestModels.Inputs(4 * 5, 1), 4, ys);
        Assert.All(ys, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void ARelUNonlinearityInTheListAppliesToThatModuleOnly()
    {
        byte[] relu = new SyntheticNetwork(5).Recurrent("rnn", RnnCellKind.Rnn, 4, 6, relu: true).Recurrent("gru", RnnCellKind.Gru, 6, 6).Build();
        using var m = RnnModel.Load(relu, Ref);
        Assert.Equal(RnnNonlinearity.Relu, ((RecurrentLayer)m.Layers[0]).Nonlinearity);
        Assert.Equal(RnnNonlinearity.Tanh, ((RecurrentLayer)m.Layers[1]).Nonlinearity);
    }

    private static byte[] Edit(byte[] file, Func<List<(string Name, int[] Shape, float[] Data)>, IEnumerable<(string, int[], float[])>> edit)
    {
        SafetensorsHeader h = SafetensorsHeader.Parse(file);
        var tensors = h.Tensors.Values.OrderBy(t => t.Begin)
            .Select(t => (t.Name, t.Shape.Select(d => (int)d).ToArray(), h.ReadFloats(file, t))).ToList();
        return SafetensorsWriter.Write(edit(tensors), h.Metadata.ToDictionary());
    }
}
