using RnnRuntime.Model;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>
/// nn.RNNCell / GRUCell / LSTMCell state_dicts (names without _l0) and RnnOptions.Nonlinearity, the
/// way to say what a state_dict cannot. The PyTorch cell fixtures (*_cell_*) run through every
/// backend's fixture tests; these cover what is refused.
/// </summary>
public class CellAndNonlinearityTests
{
    private static readonly RnnOptions Ref = new() { Backend = "reference" };

    /// <summary>A GRU's tensors renamed as a GRUCell names them, under <paramref name="prefix"/>.</summary>
    private static List<(string Name, int[] Shape, float[] Data)> CellTensors(string prefix, int seed = 1)
    {
        byte[] gru = TestModels.Create(RnnCellKind.Gru, 5, 4, seed: seed);
        SafetensorsHeader h = SafetensorsHeader.Parse(gru);
        return h.Tensors.Values.OrderBy(t => t.Begin)
            .Select(t => (prefix + t.Name.Replace("_l0", ""), t.Shape.Select(d => (int)d).ToArray(), h.ReadFloats(gru, t))).ToList();
    }

    private static RnnModelException Fails(byte[] file, RnnOptions? options = null)
        => Assert.Throws<RnnModelException>(() => { using var m = RnnModel.Load(file, options ?? Ref); });

    [Fact]
    public void ACellStateDictIsAOneLayerModuleWhoseStepIsTheModulesStep()
    {
        byte[] module = TestModels.Create(RnnCellKind.Gru, 5, 4, seed: 1);
        using var asModule = RnnModel.Load(module, Ref);
        using var asCell = RnnModel.Load(SafetensorsWriter.Write(CellTensors("dec.cell.")), Ref);
        Assert.True(((RecurrentLayer)asCell.Layers[0]).IsCell);
        Assert.Equal("dec.cell", asCell.Prefix);
        Assert.Equal((1, 1, 5, 4), (asCell.NumLayers, asCell.NumDirections, asCell.InputSize, asCell.HiddenSize));
        float[] x = TestModels.Inputs(5, 3);
        float[] a = new float[4], b = new float[4];
        using RnnSession s1 = asModule.CreateSession(), s2 = asCell.CreateSession();
        for (int t = 0; t < 5; t++) { s1.Step(x, a); s2.Step(x, b); }
        Assert.Equal(a, b);
        Assert.Contains("gru", asCell.ToString());
    }

    [Fact]
    public void ACellInsideANetworkList()
    {
        var tensors = CellTensors("cell.");
        tensors.Add(("head.weight", [2, 4], TestModels.Inputs(8, 4)));
        byte[] file = SafetensorsWriter.Write(tensors);
        using var m = RnnModel.Load(file, Ref with { Layers = ["cell", "linear:head", "sigmoid"] });
        Assert.Equal(2, m.OutputSize);
        Assert.Contains("'cell'", m.Layers[0].ToString());
    }

    [Fact]
    public void BadCellFilesFail()
    {
        var mixed = CellTensors("");
        mixed.Add(("weight_ih_l1", [12, 4], new float[48]));
        RnnModelException e = Fails(SafetensorsWriter.Write(mixed));
        Assert.Contains("both cell tensors", e.Message);
        Assert.Equal("weight_ih_l1", e.TensorName);
        e = Fails(SafetensorsWriter.Write(CellTensors("").Where(t => t.Name != "weight_hh")));
        Assert.Contains("every recurrent cell has weight_ih and weight_hh", e.Message);
        Assert.Equal("weight_hh", e.TensorName);
        e = Fails(SafetensorsWriter.Write(CellTensors("").Select(t => t.Name == "bias_hh" ? (t.Name, [11], t.Data[..11]) : t)));
        Assert.Contains("shape (11) does not match the expected (12)", e.Message);
        Assert.Equal("bias_hh", e.TensorName);
    }

    [Fact]
    public void TheNonlinearityOptionSaysWhatTheFileCannot()
    {
        byte[] plain = TestModels.Create(RnnCellKind.Rnn, 3, 4, seed: 2);
        using (var tanh = RnnModel.Load(plain, Ref)) Assert.Equal(RnnNonlinearity.Tanh, tanh.Nonlinearity);
        using (var relu = RnnModel.Load(plain, Ref with { Nonlinearity = RnnNonlinearity.Relu })) Assert.Equal(RnnNonlinearity.Relu, relu.Nonlinearity);
        // Agreeing with the file is fine; contradicting it is refused rather than guessed.
        byte[] saysRelu = TestModels.Create(RnnCellKind.Rnn, 3, 4, relu: true, seed: 2);
        using (var agree = RnnModel.Load(saysRelu, Ref with { Nonlinearity = RnnNonlinearity.Relu })) Assert.Equal(RnnNonlinearity.Relu, agree.Nonlinearity);
        Assert.Contains("RnnOptions.Nonlinearity is tanh but the file's __metadata__ says 'relu'",
            Fails(saysRelu, Ref with { Nonlinearity = RnnNonlinearity.Tanh }).Message);
        // A file of one GRU has no nonlinearity to set.
        Assert.Contains("applies to RNN cells only", Fails(TestModels.Create(RnnCellKind.Gru, 3, 4), Ref with { Nonlinearity = RnnNonlinearity.Relu }).Message);
    }

    [Fact]
    public void InANetworkTheOptionSetsTheRnnModulesAndMustAgreeWithTheList()
    {
        var net = new SyntheticNetwork(3).Recurrent("rnn", RnnCellKind.Rnn, 4, 5).Recurrent("gru", RnnCellKind.Gru, 5, 5);
        using (var m = RnnModel.Load(net.Build(withLayerList: false), Ref with { Layers = net.LayerNames, Nonlinearity = RnnNonlinearity.Relu }))
        {
            Assert.Equal(RnnNonlinearity.Relu, ((RecurrentLayer)m.Layers[0]).Nonlinearity);
            Assert.Equal(RnnNonlinearity.Tanh, ((RecurrentLayer)m.Layers[1]).Nonlinearity);   // a GRU has none
        }
        // rnnrt.network records tanh for the rnn module: the option may not contradict it.
        RnnModelException e = Fails(net.Build(), Ref with { Nonlinearity = RnnNonlinearity.Relu });
        Assert.Contains("layer 0 (rnn 'rnn'): the layer list says nonlinearity 'tanh' but RnnOptions.Nonlinearity is relu", e.Message);
    }
}
