using System.Buffers.Binary;
using System.Text;
using RnnRuntime.Model;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>Malformed and inconsistent files: each fails with RnnModelException naming what was wrong.</summary>
public class ModelLoadingTests
{
    private static readonly RnnOptions Ref = new() { Backend = "reference" };

    private static byte[] Raw(string json, byte[] data, ulong? headerLength = null)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, headerLength ?? (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    private static RnnModelException Fails(byte[] file, RnnOptions? options = null)
        => Assert.Throws<RnnModelException>(() => { using var m = RnnModel.Load(file, options ?? Ref); });

    private static byte[] Gru(int layers = 1, bool bi = false, string prefix = "") =>
        TestModels.Create(RnnCellKind.Gru, 5, 4, layers, bi, prefix: prefix);

    /// <summary>Rewrites a valid file's tensors: drop some, rename, change shapes or dtype.</summary>
    private static byte[] Edit(byte[] file, Func<List<(string Name, int[] Shape, float[] Data)>, IEnumerable<(string, int[], float[])>> edit,
        Dictionary<string, string>? metadata = null)
    {
        SafetensorsHeader h = SafetensorsHeader.Parse(file);
        var tensors = h.Tensors.Values.OrderBy(t => t.Begin)
            .Select(t => (t.Name, t.Shape.Select(d => (int)d).ToArray(), h.ReadFloats(file, t))).ToList();
        return SafetensorsWriter.Write(edit(tensors), metadata);
    }

    [Fact]
    public void EmptyAndTinyFilesFail()
    {
        Assert.Contains("8-byte header length", Fails([]).Message);
        Assert.Contains("8-byte header length", Fails([1, 2, 3]).Message);
    }

    [Fact]
    public void TruncatedFileFails()
    {
        byte[] good = Gru();
        for (int cut = 1; cut < good.Length; cut += Math.Max(1, good.Length / 37))
        {
            var e = Fails(good[..^cut]);
            Assert.Matches("truncated|past the end|not valid JSON|8-byte header length", e.Message);
        }
    }

    [Fact]
    public void HeaderLengthPastTheEndFailsWithoutAllocating()
    {
        byte[] file = Raw("{}", [], headerLength: 1UL << 62);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Fails(file);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "a claimed header length must not be allocated");
        Assert.Contains("runs past the end of the file", e.Message);
        Assert.Contains($"{1UL << 62}", e.Message);
    }

    [Fact]
    public void HeaderThatIsNotJsonFails()
    {
        Assert.Contains("not valid JSON", Fails(Raw("{\"weight_ih_l0\": ", [])).Message);
        Assert.Contains("must be a JSON object", Fails(Raw("[1,2]   ", [])).Message);
    }

    [Fact]
    public void OffsetsOutOfRangeFail()
    {
        string json = "{\"weight_hh_l0\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[0,64]}}";
        var e = Fails(Raw(json, new byte[32]));
        Assert.Equal("weight_hh_l0", e.TensorName);
        Assert.Contains("run past the end of the data section (32 bytes)", e.Message);

        json = "{\"weight_hh_l0\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[64,0]}}";
        Assert.Contains("begin after end", Fails(Raw(json, new byte[64])).Message);

        json = "{\"weight_hh_l0\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[-8,56]}}";
        Assert.Contains("non-negative", Fails(Raw(json, new byte[64])).Message);
    }

    [Fact]
    public void OverlappingOffsetsFail()
    {
        string json = "{\"weight_ih_l0\":{\"dtype\":\"F32\",\"shape\":[4,2],\"data_offsets\":[0,32]}," +
                      "\"weight_hh_l0\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[16,80]}}";
        var e = Fails(Raw(json, new byte[80]));
        Assert.Contains("overlap", e.Message);
        Assert.Contains("weight_ih_l0", e.Message);
        Assert.Contains("weight_hh_l0", e.Message);
    }

    [Fact]
    public void SizeThatDisagreesWithShapeFails()
    {
        string json = "{\"weight_hh_l0\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[0,60]}}";
        var e = Fails(Raw(json, new byte[60]));
        Assert.Equal("weight_hh_l0", e.TensorName);
        Assert.Contains("needs 16 x 4 bytes", e.Message);
    }

    [Fact]
    public void F64LoadsAndOverflowFailsNamingTensorAndIndex()
    {
        string json = "{\"weight_ih_l0\":{\"dtype\":\"F64\",\"shape\":[4,2],\"data_offsets\":[0,64]}," +
                      "\"weight_hh_l0\":{\"dtype\":\"F64\",\"shape\":[4,4],\"data_offsets\":[64,192]}}";
        var data = new byte[192];
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(8 * 3), -0.375);   // weight_ih_l0[1, 1], exact in float32
        using (var m = RnnModel.Load(Raw(json, data), Ref))
        {
            Assert.Equal((4, 2), (m.HiddenSize, m.InputSize));
            Assert.Equal(-0.375f, m.Weights(0, 0).WeightIh[1, 1]);
        }

        // Past float32's range (but a finite double): named with its index, never silently infinite.
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(64 + 8 * 6), 1e39);   // weight_hh_l0[1, 2]
        var e = Fails(Raw(json, data));
        Assert.Equal("weight_hh_l0", e.TensorName);
        Assert.Contains("F64 value 1E+39 at [1, 2] overflows float32", e.Message);

        // A double that rounds to float32's largest value is not an overflow.
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(64 + 8 * 6), float.MaxValue);
        using (var m = RnnModel.Load(Raw(json, data), Ref))
            Assert.Equal(float.MaxValue, m.Weights(0, 0).WeightHh[1, 2]);
    }

    [Theory]
    [InlineData("I64", 8, "dtype I64 is an integer tensor; weights must be floating point (F32, F16, BF16 or F64)")]
    [InlineData("I32", 4, "dtype I32 is an integer tensor")]
    [InlineData("U8", 1, "dtype U8 is an integer tensor")]
    [InlineData("BOOL", 1, "dtype BOOL is a bool tensor; weights must be floating point")]
    [InlineData("F8_E4M3", 1, "dtype F8_E4M3 is not supported; expected F32, F16, BF16 or F64")]
    public void NonFloatDtypesFailNamingTheTensor(string dtype, int size, string message)
    {
        string json = $"{{\"weight_ih_l0\":{{\"dtype\":\"{dtype}\",\"shape\":[4,2],\"data_offsets\":[0,{8 * size}]}}," +
                      $"\"weight_hh_l0\":{{\"dtype\":\"{dtype}\",\"shape\":[4,4],\"data_offsets\":[{8 * size},{24 * size}]}}}}";
        var e = Fails(Raw(json, new byte[24 * size]));
        Assert.Contains(message, e.Message);
        Assert.Matches("^weight_(ih|hh)_l0$", e.TensorName);
    }

    [Fact]
    public void WrongShapesFail()
    {
        // weight_ih with the wrong row count for a GRU of hidden 4.
        var e = Fails(Edit(Gru(), ts => ts.Select(t => t.Name == "weight_ih_l0" ? (t.Name, new[] { 11, 1 }, t.Data[..11]) : t)));
        Assert.Equal("weight_ih_l0", e.TensorName);
        Assert.Contains("expected (12, input_size)", e.Message);

        // A bias of the wrong length.
        e = Fails(Edit(Gru(), ts => ts.Select(t => t.Name == "bias_hh_l0" ? (t.Name, new[] { 11 }, t.Data[..11]) : t)));
        Assert.Equal("bias_hh_l0", e.TensorName);
        Assert.Contains("expected (12)", e.Message);

        // weight_hh whose rows are not 1, 3 or 4 blocks of hidden.
        e = Fails(Edit(TestModels.Create(RnnCellKind.Rnn, 3, 4), ts => ts.Select(t => t.Name == "weight_hh_l0" ? (t.Name, new[] { 8, 4 }, new float[32]) : t)));
        Assert.Contains("2 gate blocks", e.Message);

        // Layer 1 input width must be D*H.
        e = Fails(Edit(Gru(layers: 2), ts => ts.Select(t => t.Name == "weight_ih_l1" ? (t.Name, new[] { 12, 5 }, new float[60]) : t)));
        Assert.Equal("weight_ih_l1", e.TensorName);
        Assert.Contains("expected (12, 4)", e.Message);
    }

    [Fact]
    public void MissingTensorsAndLayersFail()
    {
        var e = Fails(Edit(Gru(layers: 3), ts => ts.Where(t => !t.Name.EndsWith("_l1"))));
        Assert.Equal("weight_ih_l1", e.TensorName);
        Assert.Contains("missing", e.Message);

        e = Fails(Edit(Gru(layers: 2), ts => ts.Where(t => t.Name != "weight_hh_l1")));
        Assert.Equal("weight_hh_l1", e.TensorName);

        e = Fails(Edit(Gru(bi: true), ts => ts.Where(t => t.Name != "bias_ih_l0_reverse")));
        Assert.Equal("bias_ih_l0_reverse", e.TensorName);

        e = Fails(Edit(Gru(), ts => ts.Where(t => t.Name != "weight_hh_l0")));
        Assert.Equal("weight_hh_l0", e.TensorName);
    }

    [Fact]
    public void ExtraLayersFail()
    {
        // A stray tensor for a layer that does not exist otherwise.
        var e = Fails(Edit(Gru(), ts => ts.Append(("bias_hh_l1", new[] { 12 }, new float[12]))));
        Assert.Equal("weight_ih_l1", e.TensorName);
        Assert.Contains("missing", e.Message);

        // Metadata that says one layer while the tensors hold two.
        e = Fails(Edit(Gru(layers: 2), ts => ts, new() { ["num_layers"] = "1" }));
        Assert.Contains("num_layers is '1' but the tensors say 2", e.Message);

        // Biases on only some layers.
        e = Fails(Edit(Gru(layers: 2), ts => ts.Where(t => !t.Name.StartsWith("bias") || t.Name.EndsWith("_l1"))));
        Assert.Matches("^bias_(ih|hh)_l1$", e.TensorName);
        Assert.Contains("biases everywhere or nowhere", e.Message);
    }

    [Fact]
    public void TwoModulesNeedAChosenPrefix()
    {
        byte[] a = Gru(prefix: "encoder.gru.");
        byte[] b = TestModels.Create(RnnCellKind.Lstm, 4, 3, prefix: "decoder.lstm.");
        byte[] both = Edit(a, ts => ts.Concat(Edit(b, x => x) is var bb ? ReadAll(bb) : []));
        var e = Fails(both);
        Assert.Contains("2 RNN modules ('decoder.lstm', 'encoder.gru')", e.Message);
        Assert.Contains("RnnOptions.Prefix", e.Message);

        using (var m = RnnModel.Load(both, Ref with { Prefix = "decoder.lstm" }))
            Assert.Equal(RnnCellKind.Lstm, m.Cell);
        using (var m = RnnModel.Load(both, Ref with { Prefix = "encoder.gru." }))
            Assert.Equal(RnnCellKind.Gru, m.Cell);
        Assert.Contains("no RNN tensors under prefix 'nope'", Fails(both, Ref with { Prefix = "nope" }).Message);
    }

    private static IEnumerable<(string, int[], float[])> ReadAll(byte[] file)
    {
        SafetensorsHeader h = SafetensorsHeader.Parse(file);
        return h.Tensors.Values.Select(t => (t.Name, t.Shape.Select(d => (int)d).ToArray(), h.ReadFloats(file, t))).ToList();
    }

    [Fact]
    public void NoRnnTensorsFails()
    {
        byte[] file = SafetensorsWriter.Write([("fc.weight", [2, 2], new float[4])]);
        var e = Fails(file);
        Assert.Contains("no RNN tensors", e.Message);
        Assert.Contains("fc.weight", e.Message);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void NonFiniteWeightsFail(float bad)
    {
        var e = Fails(Edit(Gru(), ts => ts.Select(t =>
        {
            if (t.Name == "weight_hh_l0") t.Data[4 * 2 + 3] = bad;
            return t;
        })));
        Assert.Equal("weight_hh_l0", e.TensorName);
        Assert.Contains("non-finite weight", e.Message);
        Assert.Contains("[2, 3]", e.Message);
    }

    [Fact]
    public void BadMetadataFails()
    {
        Assert.Contains("expected 'tanh' or 'relu'", Fails(Edit(TestModels.Create(RnnCellKind.Rnn, 3, 4), ts => ts, new() { ["nonlinearity"] = "gelu" })).Message);
        Assert.Contains("applies to RNN cells only", Fails(Edit(Gru(), ts => ts, new() { ["nonlinearity"] = "relu" })).Message);
        Assert.Contains("__metadata__ entry 'x' must be a string", Fails(Raw("{\"__metadata__\":{\"x\":1}}", [])).Message);
    }

    [Fact]
    public void DuplicateTensorNamesFail()
    {
        string t = "\"weight_hh_l0\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]}";
        var e = Fails(Raw("{" + t + "," + t.Replace("[0,4]", "[4,8]") + "}", new byte[8]));
        Assert.Contains("appears twice", e.Message);
    }

    /// <summary>A 2-layer bidirectional LSTM, input 5, hidden 7, proj_size 3.</summary>
    private static byte[] ProjectedLstm() => TestModels.Create(RnnCellKind.Lstm, 5, 7, layers: 2, bidirectional: true, projSize: 3);

    private static (string, int[], float[]) Reshaped((string Name, int[] Shape, float[] Data) t, params int[] shape) =>
        (t.Name, shape, new float[shape.Aggregate(1, (a, b) => a * b)]);

    [Fact]
    public void LstmProjectionsLoad()
    {
        using var m = RnnModel.Load(ProjectedLstm(), Ref);
        Assert.Equal((RnnCellKind.Lstm, 7, 3, 6), (m.Cell, m.HiddenSize, m.ProjSize, m.OutputSize));
        Assert.Equal(2 * 2 * 4 * (3 + 7), m.StateLength(4));   // h (L*D, B, P), then c (L*D, B, H)
        var r = (RecurrentLayer)m.Layers[0];
        Assert.Equal((3, 3), (r.HiddenWidth, r.Weights(1, 1).ProjSize));
        Assert.Equal((28, 6), (r.Weights(1, 0).Ih.Rows, r.Weights(1, 0).Ih.Columns));
        Assert.Equal((28, 3), (r.Weights(0, 1).Hh.Rows, r.Weights(0, 1).Hh.Columns));
        Assert.Contains("proj 3", m.ToString());
    }

    [Theory]
    [InlineData("weight_hr_l0", 7, 7, "weight_hr_l0", "1 <= proj_size < hidden_size")]       // P = H
    [InlineData("weight_hr_l0", 9, 7, "weight_hr_l0", "1 <= proj_size < hidden_size")]       // P > H
    [InlineData("weight_hr_l0", 21, 0, "weight_hr_l0", "(proj_size, hidden_size)")]          // 1-D
    [InlineData("weight_hh_l0", 28, 7, "weight_hh_l0", "(28, 3)")]                            // W_hh (4H, H), not (4H, P)
    [InlineData("weight_hh_l1_reverse", 28, 4, "weight_hh_l1_reverse", "(28, 3)")]
    [InlineData("weight_ih_l1", 28, 14, "weight_ih_l1", "(28, 6)")]                           // D*H, not D*P
    [InlineData("weight_hr_l1", 3, 6, "weight_hr_l1", "(3, 7)")]
    [InlineData("weight_hr_l0_reverse", 4, 7, "weight_hr_l0_reverse", "(3, 7)")]
    public void MalformedProjectionsNameTheTensor(string tensor, int rows, int columns, string named, string words)
    {
        var e = Fails(Edit(ProjectedLstm(), ts => ts.Select(t => t.Name == tensor ? columns == 0 ? Reshaped(t, rows) : Reshaped(t, rows, columns) : t)));
        Assert.Equal(named, e.TensorName);
        Assert.Contains(words, e.Message);
    }

    [Theory]
    [InlineData("weight_hr_l1_reverse")]
    [InlineData("weight_hr_l0")]
    public void ProjectionsAreEverywhereOrNowhere(string dropped)
    {
        var e = Fails(Edit(ProjectedLstm(), ts => ts.Where(t => t.Name != dropped)));
        Assert.Equal(dropped, e.TensorName);
        Assert.Contains("weight_hr, or none does", e.Message);
    }

    [Theory]
    [InlineData(RnnCellKind.Gru, "a gru")]
    [InlineData(RnnCellKind.Rnn, "an rnn")]
    public void OnlyLstmsHaveProjections(RnnCellKind cell, string words)
    {
        var e = Fails(Edit(TestModels.Create(cell, 3, 4), ts => ts.Append(("weight_hr_l0", new[] { 2, 4 }, new float[8]))));
        Assert.Equal("weight_hr_l0", e.TensorName);
        Assert.Contains("only an LSTM may have a projection", e.Message);
        Assert.Contains(words, e.Message);
    }

    [Fact]
    public void UnrelatedTensorsOfAnyDtypeAreNamedUnlessOutsideThePrefix()
    {
        byte[] model = Gru(prefix: "rnn.");
        // Append an I64 tensor (a BatchNorm's num_batches_tracked, say) by hand.
        SafetensorsHeader h = SafetensorsHeader.Parse(model);
        string json = Encoding.UTF8.GetString(model, 8, (int)(h.DataStart - 8)).TrimEnd();
        json = json[..^1] + $",\"bn.num_batches_tracked\":{{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[{h.DataLength},{h.DataLength + 8}]}}}}";
        byte[] file = Raw(json, [.. model.AsSpan((int)h.DataStart), .. new byte[8]]);
        // Nothing is dropped silently: outside the prefix it parses and is left alone, else it is named.
        Assert.Contains("1 tensor of the file belongs to no layer: bn.num_batches_tracked", Fails(file).Message);
        using var m = RnnModel.Load(file, Ref with { Prefix = "rnn" });
        Assert.Equal("rnn", m.Prefix);
    }

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => RnnModel.Load(Path.Combine(Path.GetTempPath(), "rnnrt-no-such-file.safetensors")));
    }

    [Fact]
    public void HalfAndBFloat16ConvertExactly()
    {
        // 1.5 and -2.25 are exact in F16 and BF16.
        foreach (string dtype in new[] { "F16", "BF16" })
        {
            ushort one5 = dtype == "F16" ? BitConverter.HalfToUInt16Bits((Half)1.5f) : (ushort)(BitConverter.SingleToInt32Bits(1.5f) >> 16);
            ushort m225 = dtype == "F16" ? BitConverter.HalfToUInt16Bits((Half)(-2.25f)) : (ushort)(BitConverter.SingleToInt32Bits(-2.25f) >> 16);
            string json = $"{{\"weight_ih_l0\":{{\"dtype\":\"{dtype}\",\"shape\":[1,1],\"data_offsets\":[0,2]}},\"weight_hh_l0\":{{\"dtype\":\"{dtype}\",\"shape\":[1,1],\"data_offsets\":[2,4]}}}}";
            var data = new byte[4];
            BinaryPrimitives.WriteUInt16LittleEndian(data, one5);
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2), m225);
            using var m = RnnModel.Load(Raw(json, data), Ref);
            Assert.Equal(1.5f, m.Weights(0, 0).WeightIhFlat[0]);
            Assert.Equal(-2.25f, m.Weights(0, 0).WeightHhFlat[0]);
        }
    }
}
