using System.IO.Compression;
using System.Text;
using RnnRuntime.Model;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>
/// Nothing is silently dropped (issue 22, item 1): every tensor of the file (under RnnOptions.Prefix)
/// belongs to a layer or loading fails naming it; a module is read as a kind only where its tensors
/// fit no other; kinds not run yet are refused by name; the explicit layer syntax
/// (<c>kind[(params)]:prefix</c>, the same as the metadata's <c>{"kind", "prefix", params}</c>); and
/// files that are not models are named for what they are.
/// </summary>
public class StrictLoadingTests
{
    private static readonly RnnOptions Ref = new() { Backend = "reference" };

    private static RnnModelException Fails(byte[] file, RnnOptions? options = null)
        => Assert.Throws<RnnModelException>(() => { using var m = RnnModel.Load(file, options ?? Ref); });

    private static RnnOptions Layers(params string[] layers) => Ref with { Layers = layers };

    /// <summary>The issue's network: Linear(16, 16) -> GRU(16, 32) -> Linear(32, 32).</summary>
    private static SyntheticNetwork FcGruFc() => new SyntheticNetwork(7)
        .Linear("fc_in", 16, 16).Recurrent("gru", RnnCellKind.Gru, 16, 32).Linear("fc", 32, 32);

    private static string List(params string[] layers) => $"{{\"version\":1,\"layers\":[{string.Join(",", layers)}]}}";

    private static byte[] WithList(byte[] plain, string json)
    {
        SafetensorsHeader h = SafetensorsHeader.Parse(plain);
        return SafetensorsWriter.Write(h.Tensors.Values.OrderBy(t => t.Begin).Select(t => (t.Name, t.Shape.Select(d => (int)d).ToArray(), h.ReadFloats(plain, t))),
            new Dictionary<string, string> { [LayerList.MetadataKey] = json });
    }

    [Fact]
    public void AWholeNetworksStateDictWithoutAListFailsNamingTheRest()
    {
        byte[] plain = FcGruFc().Build(withLayerList: false);
        RnnModelException e = Fails(plain);
        Assert.Contains("4 tensors of the file belong to no layer: fc_in.weight, fc_in.bias, fc.weight, fc.bias; rnnrt refuses to run part of a network", e.Message);
        Assert.Contains("Without a layer list the network is the file's one recurrent module 'gru'", e.Message);
        Assert.Contains("The modules of the file: 'fc_in' (linear 16 -> 16), 'gru' (gru), 'fc' (linear 32 -> 32)", e.Message);
        Assert.Contains("as RnnOptions.Layers (e.g. [\"fc_in\", \"gru\", \"fc\"])", e.Message);
        Assert.Contains("set RnnOptions.Prefix to 'gru', the prefix under which the used tensors live", e.Message);
        Assert.Null(e.TensorName);
        // Both ways out work: the whole network, or the module alone, asked for by name.
        using (var net = RnnModel.Load(plain, Layers("fc_in", "gru", "fc"))) Assert.Equal((16, 32, 3), (net.InputSize, net.OutputSize, net.Layers.Count));
        using (var gru = RnnModel.Load(plain, Ref with { Prefix = "gru" })) Assert.Single(gru.Layers);
    }

    [Fact]
    public void ManyUnusedTensorsAreCountedAfterTheFirstFew()
    {
        var net = new SyntheticNetwork(3).Recurrent("gru", RnnCellKind.Gru, 4, 4);
        for (int i = 0; i < 9; i++) net.Unlisted($"optimizer.state.{i}.exp_avg", 4);
        RnnModelException e = Fails(net.Build(), Ref);
        Assert.Contains("9 tensors of the file belong to no layer: optimizer.state.0.exp_avg, optimizer.state.1.exp_avg, optimizer.state.2.exp_avg, " +
                        "optimizer.state.3.exp_avg, optimizer.state.4.exp_avg (and 4 more)", e.Message);
        Assert.Contains("The file's 'rnnrt.network' layer list leaves them out", e.Message);
        Assert.Contains("set RnnOptions.Prefix to 'gru', the prefix under which the used tensors live (the layer list's names then relative to it)", e.Message);
        // An optimizer's state is no module: it is not offered as a layer.
        Assert.DoesNotContain("RnnOptions.Layers (e.g.", e.Message);
    }

    [Fact]
    public void AListThatForgetsAModuleFails()
    {
        byte[] plain = FcGruFc().Build(withLayerList: false);
        RnnModelException e = Fails(plain, Layers("fc_in", "tanh", "gru"));
        Assert.Contains("2 tensors of the file belong to no layer: fc.weight, fc.bias", e.Message);
        Assert.Contains("RnnOptions.Layers leaves them out", e.Message);
        e = Fails(WithList(plain, List("{\"kind\":\"gru\",\"prefix\":\"gru\"}", "{\"kind\":\"linear\",\"prefix\":\"fc\"}")));
        Assert.Contains("2 tensors of the file belong to no layer: fc_in.weight, fc_in.bias", e.Message);
        Assert.Contains("The file's 'rnnrt.network' layer list leaves them out", e.Message);
    }

    [Fact]
    public void ALeftOutModuleOfAKindNotRunYetIsNamed()
    {
        byte[] file = FcGruFc().Unlisted("ln.weight", 32).Unlisted("ln.bias", 32).Build(withLayerList: false);
        RnnModelException e = Fails(file, Layers("fc_in", "gru", "fc"));
        Assert.Contains("2 tensors of the file belong to no layer: ln.weight, ln.bias", e.Message);
        Assert.Contains("'ln' (a LayerNorm-shaped tensor set (weight, bias of shape (32)))", e.Message);
        Assert.Contains("though 'ln' holds a LayerNorm-shaped tensor set (weight, bias of shape (32)); layer_norm is not supported yet", e.Message);
    }

    [Fact]
    public void ModulesOfKindsNotRunYetAreRefusedByName()
    {
        byte[] ln = new SyntheticNetwork(1).Linear("fc_in", 8, 16).Unlisted("ln.weight", 16).Unlisted("ln.bias", 16)
            .Recurrent("gru", RnnCellKind.Gru, 16, 8).Build(withLayerList: false);
        Assert.Contains("layer 1 (module 'ln'): 'ln' holds a LayerNorm-shaped tensor set (weight, bias of shape (16)); layer_norm is not supported yet (this runtime runs linear, rnn, gru, lstm, tanh, relu, sigmoid, add_input)",
            Fails(ln, Layers("fc_in", "ln", "gru")).Message);

        // BatchNorm1d: its num_batches_tracked is part of it, not a stray tensor.
        byte[] bn = new SyntheticNetwork(1).Linear("fc_in", 8, 16).Unlisted("bn.weight", 16).Unlisted("bn.bias", 16).Unlisted("bn.running_mean", 16)
            .Unlisted("bn.running_var", 16).Unlisted("bn.num_batches_tracked").Recurrent("gru", RnnCellKind.Gru, 16, 8).Build(withLayerList: false);
        Assert.Contains("'bn' holds a BatchNorm-shaped tensor set (weight, bias, running_mean, running_var, num_batches_tracked of shape (16)); batch_norm is not supported yet",
            Fails(bn, Layers("fc_in", "bn", "gru")).Message);

        byte[] conv = new SyntheticNetwork(1).Unlisted("conv.weight", 8, 4, 3).Unlisted("conv.bias", 8).Recurrent("gru", RnnCellKind.Gru, 8, 8).Build(withLayerList: false);
        Assert.Contains("'conv' holds a Conv1d-shaped tensor set (weight (8, 4, 3), bias (8)); conv1d is not supported yet", Fails(conv, Layers("conv", "gru")).Message);

        byte[] odd = new SyntheticNetwork(1).Unlisted("attn.in_proj_weight", 24, 8).Unlisted("attn.in_proj_bias", 24).Recurrent("gru", RnnCellKind.Gru, 8, 8).Build(withLayerList: false);
        Assert.Contains("layer 0 (module 'attn'): 'attn' holds tensors in_proj_weight, in_proj_bias, which no layer kind has", Fails(odd, Layers("attn", "gru")).Message);
    }

    [Theory]
    [InlineData(100, 12)]
    [InlineData(12, 12)]
    public void AWeightWithoutBiasIsNeitherLinearNorEmbeddingUntilSaid(int rows, int width)
    {
        byte[] file = new SyntheticNetwork(1).Unlisted("emb.weight", rows, width).Recurrent("gru", RnnCellKind.Gru, rows, 8).Build(withLayerList: false);
        RnnModelException e = Fails(file, Layers("emb", "gru"));
        Assert.Contains($"layer 0 (module 'emb'): 'emb' holds one 2-D weight ({rows}, {width}) and no bias: that is a bias-free linear layer {width} -> {rows} " +
                        $"(nn.Linear({width}, {rows}, bias=False)) or an embedding of {rows} rows of {width} (nn.Embedding({rows}, {width})), " +
                        "and rnnrt does not guess: say which, 'linear:emb' or 'embedding:emb' (embedding is not supported yet)", e.Message);
        Assert.Contains("RnnOptions.Layers[0] 'embedding:emb': embedding (nn.Embedding) is not supported yet", Fails(file, Layers("embedding:emb", "gru")).Message);
        using var m = RnnModel.Load(file, Layers("linear:emb", "gru"));
        Assert.Equal((width, LayerKind.Linear), (m.InputSize, m.Layers[0].Kind));
    }

    [Fact]
    public void ActivationsNotRunYetAreRefusedByName()
    {
        byte[] plain = FcGruFc().Build(withLayerList: false);
        Assert.Contains("layer 1 (module 'gelu'): 'gelu' is neither a module of the file nor an activation this runtime runs: gelu (nn.GELU) is not supported yet; this runtime runs linear, rnn, gru, lstm, tanh, relu, sigmoid, add_input",
            Fails(plain, Layers("fc_in", "gelu", "gru", "fc")).Message);
        Assert.Contains("RnnOptions.Layers[1] 'leaky_relu(0.2)': leaky_relu (nn.LeakyReLU) is not supported yet",
            Fails(plain, Layers("fc_in", "leaky_relu(0.2)", "gru", "fc")).Message);
        // A prefix that is nothing says what it could have been.
        Assert.Contains("no tensors under prefix 'fc_out' (the file's tensors include fc.bias, fc.weight, fc_in.bias, fc_in.weight, gru.bias_hh_l0, gru.bias_ih_l0, gru.weight_hh_l0, gru.weight_ih_l0); expected fc_out.weight (linear) or fc_out.weight_ih_l0 (rnn, gru, lstm), or one of the activations tanh, relu, sigmoid, add_input",
            Fails(plain, Layers("fc_in", "gru", "fc_out")).Message);
    }

    [Fact]
    public void AContainerIsListedByItsSubmodules()
    {
        byte[] file = new SyntheticNetwork(1).Linear("encoder.0", 8, 8).Linear("encoder.2", 8, 8).Recurrent("gru", RnnCellKind.Gru, 8, 8).Build(withLayerList: false);
        Assert.Contains("layer 0 (module 'encoder'): 'encoder' has no tensors of its own, only in its submodules 'encoder.0', 'encoder.2'; list those in forward order instead",
            Fails(file, Layers("encoder", "gru")).Message);
        using var m = RnnModel.Load(file, Layers("encoder.0", "relu", "encoder.2", "gru"));
        Assert.Equal(4, m.Layers.Count);
    }

    [Fact]
    public void ExplicitKindsAndParametersLoad()
    {
        byte[] plain = FcGruFc().Build(withLayerList: false);
        using var bare = RnnModel.Load(plain, Layers("fc_in", "tanh", "gru", "fc"));
        using var said = RnnModel.Load(plain, Layers("linear:fc_in", " tanh ", "gru : gru", "linear:fc"));
        float[] xs = TestModels.Inputs(4 * 16, 2), a = new float[4 * 32], b = new float[4 * 32];
        using (RnnSession s = bare.CreateSession()) s.Run(xs, 4, a);
        using (RnnSession s = said.CreateSession()) s.Run(xs, 4, b);
        Assert.Equal(a, b);

        byte[] rnn = new SyntheticNetwork(2).Recurrent("rnn", RnnCellKind.Rnn, 4, 6).Linear("fc", 6, 2).Build(withLayerList: false);
        foreach (string entry in (string[])["rnn(relu):rnn", "rnn(nonlinearity=relu):rnn", "rnn( nonlinearity = relu ):rnn"])
        {
            using var m = RnnModel.Load(rnn, Layers(entry, "fc"));
            Assert.Equal(RnnNonlinearity.Relu, m.Nonlinearity);
        }
        using (var m = RnnModel.Load(rnn, Layers("rnn:rnn", "fc"))) Assert.Equal(RnnNonlinearity.Tanh, m.Nonlinearity);

        // "kind:" is a module at the root of the file (a plain nn.GRU state_dict).
        byte[] root = TestModels.Create(RnnCellKind.Gru, 3, 5);
        using (var m = RnnModel.Load(root, Layers("gru:", "tanh"))) Assert.Equal((2, 5), (m.Layers.Count, m.OutputSize));
    }

    [Fact]
    public void MalformedEntriesSayWhatIsExpected()
    {
        byte[] rnn = new SyntheticNetwork(2).Recurrent("rnn", RnnCellKind.Rnn, 4, 6).Linear("fc", 6, 2).Build(withLayerList: false);
        Assert.Contains("layer 0 (lstm 'rnn'): tensor 'rnn.weight_hh_l0': the layer list says lstm", Fails(rnn, Layers("lstm:rnn", "fc")).Message);
        Assert.Contains("RnnOptions.Layers[0] 'rnn(gelu):rnn': layer 0 has nonlinearity 'gelu'; expected 'tanh' or 'relu'", Fails(rnn, Layers("rnn(gelu):rnn", "fc")).Message);
        Assert.Contains("RnnOptions.Layers[0] 'rnn(bias=false):rnn': rnn has no parameter 'bias'; it takes nonlinearity", Fails(rnn, Layers("rnn(bias=false):rnn", "fc")).Message);
        Assert.Contains("RnnOptions.Layers[0] 'rnn(relu, tanh):rnn': rnn has 2 parameters; it takes nonlinearity", Fails(rnn, Layers("rnn(relu, tanh):rnn", "fc")).Message);
        Assert.Contains("RnnOptions.Layers[0] 'rnn(relu, nonlinearity=tanh):rnn': parameter 'nonlinearity' is given twice", Fails(rnn, Layers("rnn(relu, nonlinearity=tanh):rnn", "fc")).Message);
        Assert.Contains("RnnOptions.Layers[0] 'rnn(nonlinearity=):rnn': parameter 'nonlinearity' has no value", Fails(rnn, Layers("rnn(nonlinearity=):rnn", "fc")).Message);
        Assert.Contains("RnnOptions.Layers[1] 'linear(2):fc': linear has 1 parameters, but takes none", Fails(rnn, Layers("rnn", "linear(2):fc")).Message);
        Assert.Contains("RnnOptions.Layers[0] 'rnn(relu:rnn': 'rnn(relu' does not end with ')'", Fails(rnn, Layers("rnn(relu:rnn", "fc")).Message);
        Assert.Contains("RnnOptions.Layers[1] 'dense:fc': unknown kind 'dense'; expected kind:prefix with a kind of linear, rnn, gru, lstm, tanh, relu, sigmoid, add_input", Fails(rnn, Layers("rnn", "dense:fc")).Message);
        Assert.Contains("RnnOptions.Layers[0] 'rnn(relu)': rnn needs its module's prefix: 'rnn(relu):NAME' ('rnn(relu):' for a module at the root of the file)", Fails(rnn, Layers("rnn(relu)", "fc")).Message);
        Assert.Contains("RnnOptions.Layers[2] 'tanh:fc': tanh has no tensors, so no prefix: write 'tanh'", Fails(rnn, Layers("rnn", "fc", "tanh:fc")).Message);
        Assert.Contains("RnnOptions.Layers[1] is empty; expected a module prefix, kind:prefix (e.g. \"linear:fc\") or one of tanh, relu, sigmoid, add_input", Fails(rnn, Layers("rnn", "")).Message);
    }

    [Fact]
    public void TheMetadataNamesKindsAndParametersTheSameWay()
    {
        byte[] plain = new SyntheticNetwork(2).Recurrent("rnn", RnnCellKind.Rnn, 4, 6).Linear("fc", 6, 2).Build(withLayerList: false);
        string rnn = "{\"kind\":\"rnn\",\"prefix\":\"rnn\",\"nonlinearity\":\"relu\"}", fc = "{\"kind\":\"linear\",\"prefix\":\"fc\"}";
        using (var m = RnnModel.Load(WithList(plain, List(rnn, fc)), Ref)) Assert.Equal(RnnNonlinearity.Relu, m.Nonlinearity);
        Assert.Contains("__metadata__ 'rnnrt.network' layer 1: layer_norm (nn.LayerNorm) is not supported yet; this runtime runs linear, rnn, gru, lstm, tanh, relu, sigmoid, add_input (was the file written by a newer rnnrt?)",
            Fails(WithList(plain, List(rnn, "{\"kind\":\"layer_norm\",\"prefix\":\"ln\",\"eps\":1e-5}", fc))).Message);
        Assert.Contains("__metadata__ 'rnnrt.network' layer 2: leaky_relu (nn.LeakyReLU) is not supported yet",
            Fails(WithList(plain, List(rnn, fc, "{\"kind\":\"leaky_relu\",\"negative_slope\":0.2}"))).Message);
        Assert.Contains("__metadata__ 'rnnrt.network' layer 0 has an unknown key 'bias'; a rnn layer has kind, prefix, nonlinearity",
            Fails(WithList(plain, List("{\"kind\":\"rnn\",\"prefix\":\"rnn\",\"bias\":false}", fc))).Message);
        Assert.Contains("__metadata__ 'rnnrt.network' layer 1 \"nonlinearity\" is True, not a string or number",
            Fails(WithList(plain, List("{\"kind\":\"rnn\",\"prefix\":\"rnn\"}", "{\"kind\":\"rnn\",\"prefix\":\"rnn\",\"nonlinearity\":true}"))).Message);
    }

    [Fact]
    public void PrefixIsWhereTheNetworkLives()
    {
        // A checkpoint: the network under "model.", an optimizer's state beside it.
        byte[] file = new SyntheticNetwork(4).Recurrent("model.gru", RnnCellKind.Gru, 4, 6).Linear("model.fc", 6, 2)
            .Unlisted("optimizer.state.0.exp_avg", 18, 4).Build(withLayerList: false);
        RnnModelException e = Fails(file, Ref with { Prefix = "model" });
        Assert.Contains("2 tensors of the file under prefix 'model' belong to no layer: model.fc.weight, model.fc.bias", e.Message);
        Assert.Contains("the network is the file's one recurrent module 'model.gru'", e.Message);
        Assert.Contains("The modules of the file under prefix 'model': 'model.gru' (gru), 'model.fc' (linear 6 -> 2)", e.Message);
        Assert.Contains("as RnnOptions.Layers (e.g. [\"gru\", \"fc\"])", e.Message);
        using (var m = RnnModel.Load(file, Ref with { Prefix = "model", Layers = ["gru", "fc"] })) Assert.Equal(2, m.OutputSize);
        using (var m = RnnModel.Load(file, Ref with { Prefix = "model.gru" })) Assert.Equal(6, m.OutputSize);
        e = Fails(file, Layers("model.gru", "model.fc"));
        Assert.Contains("1 tensor of the file belongs to no layer: optimizer.state.0.exp_avg", e.Message);
        Assert.Contains("set RnnOptions.Prefix to 'model', the prefix under which the used tensors live (the layer list's names then relative to it)", e.Message);

        byte[] two = new SyntheticNetwork(4).Recurrent("model.enc", RnnCellKind.Gru, 4, 6).Recurrent("model.dec", RnnCellKind.Gru, 6, 6).Build(withLayerList: false);
        Assert.Contains("prefix 'model' holds 2 RNN modules ('model.dec', 'model.enc'); choose one with RnnOptions.Prefix", Fails(two, Ref with { Prefix = "model" }).Message);
    }

    [Fact]
    public void AStrayTensorBesideARootModuleIsToBeRemoved()
    {
        byte[] gru = TestModels.Create(RnnCellKind.Gru, 4, 6);
        SafetensorsHeader h = SafetensorsHeader.Parse(gru);
        byte[] file = SafetensorsWriter.Write(h.Tensors.Values.OrderBy(t => t.Begin).Select(t => (t.Name, t.Shape.Select(d => (int)d).ToArray(), h.ReadFloats(gru, t)))
            .Append(("step", [1], [3f])));
        RnnModelException e = Fails(file);
        Assert.Contains("1 tensor of the file belongs to no layer: step", e.Message);
        Assert.Contains("the file's one recurrent module (no prefix)", e.Message);
        Assert.Contains("they belong to no layer kind rnnrt knows, so remove them from the file", e.Message);
    }

    public static TheoryData<string, byte[]> NotModels() => new()
    {
        { "this is an ONNX model (ir_version 7, producer 'pytorch'), which rnnrt does not read yet; export the PyTorch network with rnnrt.save(model, path)",
          [0x08, 0x07, 0x12, 0x07, .. "pytorch"u8, 0x1a, 0x05, .. "2.1.0"u8, 0x3a, 0x10, .. new byte[16]] },
        { "this is a numpy array (.npy, numpy.save), not a model; rnnrt reads .safetensors files", [0x93, .. "NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"u8, .. new byte[12]] },
        { "this is a numpy archive of arrays (.npz, numpy.savez), not a model", Npz() },
        { "this is a JSON text file (it starts '{\"version\": 1, \"layers\": [{\"kind\": \"gru\"...'), not a model", "{\"version\": 1, \"layers\": [{\"kind\": \"gru\", \"prefix\": \"gru\"}]}\n"u8.ToArray() },
        { "this is a text file (it starts 'weights of my GRU'), not a model", "weights of my GRU\n"u8.ToArray() },
        { "this is an HDF5 file (a Keras .h5 model?), which rnnrt does not read", [0x89, .. "HDF\r\n\x1a\n"u8, .. new byte[64]] },
        { "this is a GGUF file (llama.cpp)", [.. "GGUF"u8, 3, 0, 0, 0, .. new byte[32]] },
        { "a zip archive, but not a torch.save file: no <name>/data.pkl entry (it has 1 entries: 'notes.txt')", Zip("notes.txt") },
    };

    [Theory]
    [MemberData(nameof(NotModels))]
    public void FilesThatAreNotModelsAreNamed(string words, byte[] file)
    {
        Assert.Contains(words, Fails(file).Message);
        string path = Path.Combine(Path.GetTempPath(), $"rnnrt-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, file);
        try
        {
            Assert.Contains(words, Assert.Throws<RnnModelException>(() => RnnModel.Load(path, Ref)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ADirectoryIsNamedWithTheModelsInIt()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"rnnrt-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            Assert.Contains($"'{dir}' is a directory, not a model file; give the path of the model file (a .safetensors or torch.save .pt/.pth file)",
                Assert.Throws<IOException>(() => RnnModel.Load(dir, Ref)).Message);
            File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), TestModels.Create(RnnCellKind.Gru, 3, 4));
            File.WriteAllText(Path.Combine(dir, "notes.txt"), "");
            Assert.Contains("is a directory, not a model file; give the path of the model file in it (model.safetensors)",
                Assert.Throws<IOException>(() => RnnModel.Load(dir, Ref)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // --- PyTorch's own files (Fixtures/Strict, make_fixtures.py --only strict) ---

    private static string Strict(string name) => Path.Combine(PyTorchFixture.Folder, "Strict", name);

    [Fact]
    public void TheIssuesNetworkLoadsWholeOrNotAtAll()
    {
        byte[] io = File.ReadAllBytes(Strict("fc_gru_fc.io.safetensors"));
        SafetensorsHeader h = SafetensorsHeader.Parse(io);
        float[] x = h.ReadFloats(io, h.Tensors["x"]), state0 = h.ReadFloats(io, h.Tensors["state0"]), y = h.ReadFloats(io, h.Tensors["y"]);
        string[] layers = System.Text.Json.JsonSerializer.Deserialize<string[]>(h.Metadata["layers"])!;
        float[] Run(RnnModel m)
        {
            using RnnSession s = m.CreateSession(2);
            s.SetState(state0);
            var ys = new float[y.Length];
            s.Run(x, x.Length / (2 * 16), ys);
            return ys;
        }

        // torch.save(net.state_dict()): once loaded as its GRU alone (wrong by 0.91), now refused.
        byte[] plain = File.ReadAllBytes(Strict("fc_gru_fc.pt"));
        RnnModelException e = Fails(plain);
        Assert.Contains("4 tensors of the file belong to no layer: fc_in.weight, fc_in.bias, fc.weight, fc.bias", e.Message);
        Assert.Contains("as RnnOptions.Layers (e.g. [\"fc_in\", \"gru\", \"fc\"])", e.Message);
        using (var net = RnnModel.Load(plain, Layers(layers)))
            Assert.True(Compare.MaxAbsDiff(Run(net), y) <= FixtureTests.Tolerance);

        // The training checkpoint holding it: the optimizer's state is outside "model".
        byte[] checkpoint = File.ReadAllBytes(Strict("fc_gru_fc_checkpoint.pt"));
        e = Fails(checkpoint);
        Assert.Contains("tensors of the file belong to no layer: model.fc_in.weight, model.fc_in.bias, model.fc.weight, model.fc.bias, optimizer.state.0.step (and", e.Message);
        Assert.Contains("as RnnOptions.Layers (e.g. [\"fc_in\", \"gru\", \"fc\"], with RnnOptions.Prefix 'model')", e.Message);
        e = Fails(checkpoint, Ref with { Prefix = "model" });
        Assert.Contains("4 tensors of the file under prefix 'model' belong to no layer: model.fc_in.weight, model.fc_in.bias, model.fc.weight, model.fc.bias", e.Message);
        Assert.Contains("as RnnOptions.Layers (e.g. [\"fc_in\", \"gru\", \"fc\"])", e.Message);
        e = Fails(checkpoint, Layers("model.fc_in", "model.gru", "model.fc"));
        Assert.Contains("set RnnOptions.Prefix to 'model', the prefix under which the used tensors live", e.Message);
        using (var net = RnnModel.Load(checkpoint, Ref with { Prefix = "model", Layers = layers }))
            Assert.True(Compare.MaxAbsDiff(Run(net), y) <= FixtureTests.Tolerance);
    }

    [Fact]
    public void PyTorchModulesOfKindsNotRunYetAreNamed()
    {
        byte[] ln = File.ReadAllBytes(Strict("ln_gru.pt"));
        Assert.Contains("layer 1 (module 'ln'): 'ln' holds a LayerNorm-shaped tensor set (weight, bias of shape (16)); layer_norm is not supported yet",
            Fails(ln, Layers("fc_in", "ln", "gru")).Message);
        Assert.Contains("2 tensors of the file belong to no layer: ln.weight, ln.bias", Fails(ln, Layers("fc_in", "gru")).Message);
        Assert.Contains("RnnOptions.Layers[1] 'layer_norm:ln': layer_norm (nn.LayerNorm) is not supported yet", Fails(ln, Layers("fc_in", "layer_norm:ln", "gru")).Message);

        byte[] bn = File.ReadAllBytes(Strict("bn_gru.pt"));
        Assert.Contains("'bn' holds a BatchNorm-shaped tensor set (weight, bias, running_mean, running_var, num_batches_tracked of shape (16)); batch_norm is not supported yet",
            Fails(bn, Layers("bn", "gru")).Message);
        RnnModelException e = Fails(bn);
        Assert.Contains("5 tensors of the file belong to no layer: bn.weight, bn.bias, bn.running_mean, bn.running_var, bn.num_batches_tracked", e.Message);

        foreach (var (file, rows) in (ReadOnlySpan<(string, int)>)[("emb_gru.pt", 100), ("emb12_gru.pt", 12)])
            Assert.Contains($"'emb' holds one 2-D weight ({rows}, 12) and no bias: that is a bias-free linear layer 12 -> {rows}",
                Fails(File.ReadAllBytes(Strict(file)), Layers("emb", "gru")).Message);
    }

    [Theory]
    [InlineData("gru.onnx", "this is an ONNX model (ir_version 7, producer 'pytorch'), which rnnrt does not read yet")]
    [InlineData("array.npy", "this is a numpy array (.npy, numpy.save), not a model")]
    [InlineData("arrays.npz", "this is a numpy archive of arrays (.npz, numpy.savez), not a model")]
    [InlineData("layers.json", "this is a JSON text file (it starts '{\"version\": 1")]
    [InlineData("", "is a directory, not a model file; give the path of the model file in it (bn_gru.pt, emb12_gru.pt, emb_gru.pt, fc_gru_fc.io.safetensors, fc_gru_fc.pt, fc_gru_fc_checkpoint.pt, ...)")]
    public void RealFilesThatAreNotModelsAreNamed(string name, string words)
    {
        Exception e = name.Length == 0
            ? Assert.Throws<IOException>(() => RnnModel.Load(Strict(name).TrimEnd('/'), Ref))
            : Assert.Throws<RnnModelException>(() => RnnModel.Load(Strict(name), Ref));
        Assert.Contains(words, e.Message);
    }

    private static byte[] Zip(string entry, byte[]? content = null)
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        using (Stream s = zip.CreateEntry(entry, CompressionLevel.NoCompression).Open())
            s.Write(content ?? Encoding.ASCII.GetBytes("hello"));
        return stream.ToArray();
    }

    private static byte[] Npz() => Zip("x.npy", [0x93, .. "NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"u8, .. new byte[12]]);
}
