using RnnRuntime.Model;

namespace RnnRuntime.Tests;

public class SmokeTests
{
    [Fact]
    public void LoadsTinyRnn()
    {
        byte[] file = SafetensorsWriter.Write([
            ("weight_ih_l0", [2, 3], new float[6]),
            ("weight_hh_l0", [2, 2], new float[4]),
        ]);
        using var model = RnnModel.Load(file, new RnnOptions { Backend = "reference" });
        Assert.Equal(RnnCellKind.Rnn, model.Cell);
        Assert.Equal(3, model.InputSize);
        Assert.Equal(2, model.HiddenSize);
    }
}
