using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>The reference backend against PyTorch itself (fixtures made by Fixtures/make_fixtures.py).</summary>
public class FixtureTests
{
    /// <summary>PyTorch float32 and float64 agree to ~4e-7 on these cases; 1e-5 leaves room only for
    /// rounding, not for a wrong formula.</summary>
    public const double Tolerance = 1e-5;

    [Fact]
    public void EveryListedCaseIsPresent()
    {
        string[] expected =
        [
            "rnn_tanh_l1_b1", "rnn_relu_l2_b3", "rnn_tanh_bi_l2_b3", "rnn_nobias_l1_b1",
            "gru_l1_b1", "gru_l2_b3", "gru_bi_l2_b3", "gru_nobias_bi_l1_b3", "gru_f16_l2_b1", "gru_bf16_l1_b3",
            "lstm_l1_b1", "lstm_l2_b3", "lstm_bi_l2_b3", "lstm_nobias_l1_b3", "lstm_f16_bi_l1_b1", "lstm_prefixed_l1_b1",
            "gru_meta_l2_b1", "gru_long_t1000_b1", "lstm_long_t1000_b2", "rnn_h64_l1_b1",
            "net_guitarml", "net_denoiser", "net_rtneural", "net_bigru_head", "net_options_layers", "net_odd", "net_nobias",
            "rnn_cell_tanh_b1", "rnn_cell_relu_b3", "gru_cell_b3", "gru_cell_nobias_b1", "lstm_cell_prefixed_b2", "rnn_relu_plain_l2_b3",
            "gru_pt_l1_b1", "lstm_pt_checkpoint_l1_b2", "gru_pt_strided_l2_b1", "rnn_pt_shared_l1_b3", "lstm_pt_f64_l1_b1",
            "lstm_proj_l2_b3", "lstm_proj_bi_l2_b3", "net_lstm_proj_head",
        ];
        Assert.Equal(expected.Order(), PyTorchFixture.Names);
    }

    [Theory]
    [MemberData(nameof(PyTorchFixture.All), MemberType = typeof(PyTorchFixture))]
    public void ReferenceRunMatchesPyTorch(string name) =>
        FixtureParity.CheckRun(new PyTorchFixture(name), "reference", Tolerance);

    [Theory]
    [MemberData(nameof(PyTorchFixture.All), MemberType = typeof(PyTorchFixture))]
    public void ReferenceStepsMatchPyTorch(string name)
    {
        var f = new PyTorchFixture(name);
        using (RnnModel m = f.Load("reference"))
        {
            if (m.IsBidirectional) return; // Step is undefined there; RnnSessionTests covers the error.
        }
        FixtureParity.CheckSteps(f, "reference", Tolerance);
    }

    [Theory]
    [MemberData(nameof(PyTorchFixture.Modules), MemberType = typeof(PyTorchFixture))]
    public void ShapesAreInferredFromTensors(string name)
    {
        var f = new PyTorchFixture(name);
        using RnnModel m = RnnModel.Load(f.ModelPath, f.Options("reference"));
        float[] x = f["x"], h0 = f["h0"], y = f["y"];
        Assert.Equal(x.Length, f.Steps * f.Batch * m.InputSize);
        Assert.Equal(y.Length, f.Steps * f.Batch * m.OutputSize);
        // h is P wide for an LSTM with proj_size P; c stays H wide.
        Assert.Equal(h0.Length, m.NumLayers * m.NumDirections * f.Batch * (m.ProjSize > 0 ? m.ProjSize : m.HiddenSize));
        if (f.HasCell) Assert.Equal(f["c0"].Length, m.NumLayers * m.NumDirections * f.Batch * m.HiddenSize);
        Assert.Equal(name.Contains("_proj_") ? 11 : 0, m.ProjSize);
        Assert.Equal(name.StartsWith("rnn") ? RnnCellKind.Rnn : name.StartsWith("gru") ? RnnCellKind.Gru : RnnCellKind.Lstm, m.Cell);
        Assert.Equal(name.Contains("_bi_"), m.IsBidirectional);
        Assert.Equal(!name.Contains("nobias"), m.HasBias);
        Assert.Equal(name.Contains("relu") ? RnnNonlinearity.Relu : RnnNonlinearity.Tanh, m.Nonlinearity);
        Assert.Equal(f.ExpectedPrefix ?? (name.Contains("prefixed") ? "encoder.lstm" : ""), m.Prefix);
        Assert.Equal(name.Contains("_pt_"), f.IsTorchSave);
        Assert.Equal(name.Contains("_cell_"), ((Model.RecurrentLayer)m.Layers[0]).IsCell);
    }

    /// <summary>A ReLU RNN saved as a plain state_dict says nothing: without the option it is what
    /// PyTorch's own default would make of it, tanh; with RnnOptions.Nonlinearity it matches PyTorch.</summary>
    [Theory]
    [InlineData("rnn_relu_plain_l2_b3")]
    [InlineData("rnn_cell_relu_b3")]
    public void PlainReluLoadsAsTanhUnlessTheOptionSaysRelu(string name)
    {
        var f = new PyTorchFixture(name);
        Assert.Equal(RnnNonlinearity.Relu, f.Nonlinearity);
        using var plain = RnnModel.Load(f.ModelBytes, new RnnOptions { Backend = "reference" });
        Assert.Equal(RnnNonlinearity.Tanh, plain.Nonlinearity);
        using RnnSession s = plain.CreateSession(f.Batch);
        s.SetState(f.InitialState);
        var ys = new float[f["y"].Length];
        s.Run(f["x"], f.Steps, ys);
        Assert.True(Compare.MaxAbsDiff(f["y"], ys) > 1e-2, "tanh and relu should give visibly different outputs");
        FixtureParity.CheckRun(f, "reference", Tolerance);   // loads with the option
    }
}
