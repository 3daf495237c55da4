using System.Buffers.Binary;
using System.Text;
using RnnRuntime.Model;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>
/// PyTorch's own torch.save format (Runtime/Model/Torch): what loads (the *_pt_* fixtures also run
/// through every backend's parity tests), what is refused with advice, and hostile or damaged files,
/// each a clear RnnModelException and nothing ever executed.
/// </summary>
public class TorchFormatTests
{
    private static readonly RnnOptions Ref = new() { Backend = "reference" };

    private static string Fixture(string name) => Path.Combine(PyTorchFixture.Folder, name);

    private static RnnModelException Fails(byte[] file, RnnOptions? options = null)
        => Assert.Throws<RnnModelException>(() => { using var m = RnnModel.Load(file, options ?? Ref); });

    private static byte[] Gru(string prefix = "") => TestModels.Create(RnnCellKind.Gru, 3, 4, prefix: prefix);

    /// <summary>A GRU (input 3, hidden 4) as a hand-made torch.save file, with its tensors edited.</summary>
    private static byte[] GruPt(Func<List<PtTensor>, IEnumerable<PtTensor>>? edit = null, Func<List<(string Key, byte[] Data)>, IEnumerable<(string, byte[])>>? storages = null,
        string record = "archive", bool deflate = false, IEnumerable<(string, byte[])>? extra = null)
    {
        var (t, s) = TorchZip.FromSafetensors(Gru());
        return TorchZip.Archive(PickleWriter.StateDict(edit is null ? t : edit(t)), storages is null ? s : storages(s), record, deflate, extra);
    }

    private static void SameWeights(RnnModel expected, RnnModel actual)
    {
        Assert.Equal(expected.ToString().Replace("reference", ""), actual.ToString().Replace("reference", ""));
        for (int k = 0; k < expected.NumLayers; k++)
        {
            Assert.Equal(expected.Weights(k, 0).WeightIhFlat.ToArray(), actual.Weights(k, 0).WeightIhFlat.ToArray());
            Assert.Equal(expected.Weights(k, 0).WeightHhFlat.ToArray(), actual.Weights(k, 0).WeightHhFlat.ToArray());
            Assert.Equal(expected.Weights(k, 0).BiasIh.ToArray(), actual.Weights(k, 0).BiasIh.ToArray());
            Assert.Equal(expected.Weights(k, 0).BiasHh.ToArray(), actual.Weights(k, 0).BiasHh.ToArray());
        }
    }

    [Fact]
    public void HandMadeArchiveLoadsLikeItsSafetensors()
    {
        using var st = RnnModel.Load(Gru(), Ref);
        foreach (string record in new[] { "archive", "my-model.v2", "gru_pt_l1_b1" })
        {
            using var pt = RnnModel.Load(TorchZip.FromSafetensorsFile(Gru(), record), Ref);
            SameWeights(st, pt);
        }
        // Deflate-compressed entries (torch.save stores them; other zip tools may not).
        using (var pt = RnnModel.Load(GruPt(deflate: true), Ref)) SameWeights(st, pt);
    }

    [Fact]
    public void PathLoadsATorchFileByItsBytesNotItsName()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rnnrt-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, File.ReadAllBytes(Fixture("gru_pt_l1_b1.pt")));
        try
        {
            using var m = RnnModel.Load(path, Ref);
            Assert.Equal((RnnCellKind.Gru, 6, 10), (m.Cell, m.InputSize, m.HiddenSize));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CheckpointFlattensToDottedNamesAndPrefixSelects()
    {
        byte[] file = File.ReadAllBytes(Fixture("lstm_pt_checkpoint_l1_b2.pt"));
        // The model's head and the optimizer's state are not the lstm: without a prefix they are named.
        RnnModelException unused = Fails(file, Ref);
        Assert.Contains("tensors of the file belong to no layer: model_state_dict.fc.weight, model_state_dict.fc.bias, optimizer.state.0.step", unused.Message);
        Assert.Contains("'model_state_dict.lstm' (lstm), 'model_state_dict.fc' (linear 12 -> 3)", unused.Message);
        Assert.Contains("set RnnOptions.Prefix to 'model_state_dict.lstm'", unused.Message);
        using (var m = RnnModel.Load(file, Ref with { Prefix = "model_state_dict.lstm" }))
        {
            Assert.Equal("model_state_dict.lstm", m.Prefix);
            Assert.Equal((RnnCellKind.Lstm, 5, 12), (m.Cell, m.InputSize, m.HiddenSize));
        }
        // The model's own prefix finds its one recurrent module, and names the head it would drop.
        Assert.Contains("2 tensors of the file under prefix 'model_state_dict' belong to no layer: model_state_dict.fc.weight, model_state_dict.fc.bias",
            Fails(file, Ref with { Prefix = "model_state_dict" }).Message);

        // The "which module?" error lists what the checkpoint holds (the optimizer's tensors are no module).
        var e = Fails(file, Ref with { Prefix = "lstm" });
        Assert.Contains("no RNN tensors under prefix 'lstm'; the file has RNN modules: 'model_state_dict.lstm'", e.Message);

        // With a layer list, Prefix is where the whole network sits inside the checkpoint.
        using (var net = RnnModel.Load(file, Ref with { Prefix = "model_state_dict", Layers = ["lstm", "fc"] }))
            Assert.Equal((2, 5, 3), (net.Layers.Count, net.InputSize, net.OutputSize));
    }

    [Fact]
    public void TwoModulesNeedAChosenPrefix()
    {
        var (a, sa) = TorchZip.FromSafetensors(Gru("enc.gru."));
        var (b, sb) = TorchZip.FromSafetensors(TestModels.Create(RnnCellKind.Lstm, 4, 3, prefix: "dec.lstm."));
        // Renumber the second module's storage keys after the first's.
        b = b.Select(t => t with { Key = (int.Parse(t.Key) + a.Count).ToString() }).ToList();
        sb = sb.Select(s => ((int.Parse(s.Key) + a.Count).ToString(), s.Data)).ToList();
        byte[] file = TorchZip.Archive(PickleWriter.StateDict([.. a, .. b]), [.. sa, .. sb]);
        var e = Fails(file);
        Assert.Contains("2 RNN modules ('dec.lstm', 'enc.gru')", e.Message);
        Assert.Contains("RnnOptions.Prefix", e.Message);
        using (var m = RnnModel.Load(file, Ref with { Prefix = "dec.lstm" })) Assert.Equal(RnnCellKind.Lstm, m.Cell);
        using (var m = RnnModel.Load(file, Ref with { Prefix = "enc.gru" })) Assert.Equal(RnnCellKind.Gru, m.Cell);
    }

    [Fact]
    public void CheckpointLeavesOfEveryKindAreIgnored()
    {
        var (t, s) = TorchZip.FromSafetensors(Gru());
        var w = new PickleWriter().Proto().Op('}').Mark();
        w.Str("epoch").Int(3).Str("loss").Op('G').Op(BitConverter.GetBytes(0.25).Reverse().ToArray());
        w.Str("best").Op(0x88).Str("note").Op('N').Str("big").Op(0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9).Str("blob").Op('C', 3, 1, 2, 3);
        w.Str("steps").Op(']').Mark().Int(1).Int(-2).Op('e').Str("betas").Op('G').Op(BitConverter.GetBytes(0.9).Reverse().ToArray()).Op('G').Op(BitConverter.GetBytes(0.999).Reverse().ToArray()).Op(0x86);
        w.Str("model").EmptyOrderedDict().Mark();
        foreach (PtTensor x in t) w.Str(x.Name).Tensor(x);
        w.Op('u');
        // An optimizer state keyed by parameter index, holding a tensor (it flattens, matches no module).
        w.Str("optimizer").Op('}').Str("state").Op('}').Int(0).Op('}').Str("exp_avg").Tensor(t[0] with { Name = "" }).Op('s').Op('s').Op('s');
        w.Str("scheduler").Op('}').Int(7).Op(0x89).Op('s');
        w.Op('u').Stop();
        byte[] file = TorchZip.Archive(w.ToArray(), s);
        Assert.Contains("1 tensor of the file belongs to no layer: optimizer.state.0.exp_avg", Fails(file).Message);
        Assert.Contains("set RnnOptions.Prefix to 'model'", Fails(file).Message);
        using var m = RnnModel.Load(file, Ref with { Prefix = "model" });
        Assert.Equal("model", m.Prefix);
    }

    [Fact]
    public void SharedAndStridedStoragesAreRead()
    {
        // weight_hh_l0 (12, 4) transposed in its storage, bias_ih_l0 a slice at offset 5 of a longer one, bias_hh_l0 sharing it.
        using var st = RnnModel.Load(Gru(), Ref);
        var (t, s) = TorchZip.FromSafetensors(Gru());
        float[] hh = MemoryMarshal(s.Single(x => x.Key == t.Single(y => y.Name == "weight_hh_l0").Key).Data);
        var transposed = new float[48];
        for (int r = 0; r < 12; r++) for (int c = 0; c < 4; c++) transposed[c * 12 + r] = hh[r * 4 + c];
        float[] bih = MemoryMarshal(s.Single(x => x.Key == t.Single(y => y.Name == "bias_ih_l0").Key).Data);
        float[] bhh = MemoryMarshal(s.Single(x => x.Key == t.Single(y => y.Name == "bias_hh_l0").Key).Data);
        float[] both = [.. new float[5], .. bih, 7f, .. bhh];
        var tensors = t.Select(x => x.Name switch
        {
            "weight_hh_l0" => x with { Key = "T", Numel = 48, Stride = [1, 12] },
            "bias_ih_l0" => x with { Key = "B", Numel = both.Length, Offset = 5 },
            "bias_hh_l0" => x with { Key = "B", Numel = both.Length, Offset = 18 },
            _ => x,
        }).ToList();
        byte[] file = TorchZip.Archive(PickleWriter.StateDict(tensors), [.. s, ("T", Bytes(transposed)), ("B", Bytes(both))]);
        using var pt = RnnModel.Load(file, Ref);
        SameWeights(st, pt);
    }

    [Fact]
    public void BigEndianArchivesAreSwapped()
    {
        using var st = RnnModel.Load(Gru(), Ref);
        byte[] file = GruPt(storages: s => s.Select(x =>
        {
            byte[] d = (byte[])x.Data.Clone();
            for (int i = 0; i < d.Length; i += 4) d.AsSpan(i, 4).Reverse();
            return (x.Key, d);
        }), extra: [("archive/byteorder", "big"u8.ToArray())]);
        using var pt = RnnModel.Load(file, Ref);
        SameWeights(st, pt);
        Assert.Contains("expected 'little' or 'big'", Fails(GruPt(extra: [("archive/byteorder", "middle"u8.ToArray())])).Message);
    }

    [Fact]
    public void IntegerAndBoolTensorsInAModuleAreRefusedByName()
    {
        var e = Fails(GruPt(ts => ts.Select(t => t.Name == "weight_hh_l0" ? t with { StorageType = "LongStorage" } : t),
            s => s.Select(x => x.Key == "1" ? (x.Key, new byte[8 * 48]) : (x.Key, x.Data))));
        Assert.Equal("weight_hh_l0", e.TensorName);
        Assert.Contains("dtype I64 is an integer tensor", e.Message);

        e = Fails(GruPt(ts => ts.Select(t => t.Name == "bias_ih_l0" ? t with { StorageType = "BoolStorage" } : t),
            s => s.Select(x => x.Key == "2" ? (x.Key, new byte[12]) : (x.Key, x.Data))));
        Assert.Equal("bias_ih_l0", e.TensorName);
        Assert.Contains("dtype BOOL is a bool tensor", e.Message);

        // Outside a module (a BatchNorm's num_batches_tracked, say) they parse, and are named as used by no layer.
        var extra = PtTensor.Contiguous("bn.num_batches_tracked", "9", [], "LongStorage");
        e = Fails(GruPt(ts => [.. ts, extra], s => [.. s, ("9", new byte[8])]));
        Assert.Contains("1 tensor of the file belongs to no layer: bn.num_batches_tracked", e.Message);
        Assert.Null(e.TensorName);
    }

    [Fact]
    public void DoubleStorageLoadsAndOverflowIsNamed()
    {
        static byte[] Doubles(byte[] floats, double? poison = null)
        {
            float[] f = MemoryMarshal(floats);
            var d = new byte[f.Length * 8];
            for (int i = 0; i < f.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(d.AsSpan(8 * i), i == 5 && poison is double p ? p : f[i]);
            return d;
        }
        using var st = RnnModel.Load(Gru(), Ref);
        using (var pt = RnnModel.Load(GruPt(ts => ts.Select(t => t with { StorageType = "DoubleStorage" }), s => s.Select(x => (x.Key, Doubles(x.Data)))), Ref))
            SameWeights(st, pt);
        var e = Fails(GruPt(ts => ts.Select(t => t with { StorageType = "DoubleStorage" }), s => s.Select(x => (x.Key, Doubles(x.Data, x.Key == "1" ? -3e40 : null)))));
        Assert.Equal("weight_hh_l0", e.TensorName);
        Assert.Contains("F64 value -3E+40 at [1, 1] overflows float32", e.Message);
    }

    [Theory]
    [InlineData(0x280)]   // 80 02 00 ..: starts like a protocol-2 pickle
    [InlineData(0x580)]   // 80 05 00 ..: protocol 5
    public void SafetensorsWhoseHeaderLengthLooksLikeAPickleStillLoads(int headerLength)
    {
        byte[] st = Gru();
        SafetensorsHeader h = SafetensorsHeader.Parse(st);
        string json = Encoding.UTF8.GetString(st, 8, (int)(h.DataStart - 8)).TrimEnd();
        Assert.True(json.Length <= headerLength);
        byte[] header = Encoding.UTF8.GetBytes(json.PadRight(headerLength));
        byte[] file = [.. BitConverter.GetBytes((ulong)headerLength), .. header, .. st.AsSpan((int)h.DataStart)];
        Assert.Equal(0x80, file[0]);
        using var a = RnnModel.Load(st, Ref);
        using var b = RnnModel.Load(file, Ref);
        SameWeights(a, b);
        // Truncated, it is still a damaged safetensors file, not a "bare pickle".
        Assert.Contains("past the end", Fails(file[..^10]).Message);
    }

    // --- Refusals, each saying what the file is and how to save a state_dict ---

    [Theory]
    [InlineData("torch_whole_module.pt", "'torch.nn.modules.rnn.GRU'")]
    [InlineData("torch_whole_custom_module.pt", "'__main__.Tagger'")]
    public void WholePickledModulesAreRefusedWithAdvice(string file, string global)
    {
        var e = Fails(File.ReadAllBytes(Fixture(file)));
        Assert.Contains(global, e.Message);
        Assert.Contains("whole pickled module (torch.save(model))", e.Message);
        Assert.Contains("torch.save(model.state_dict(), path)", e.Message);
        Assert.Contains("rnnrt.save", e.Message);
    }

    [Fact]
    public void LegacyFormatIsRefusedWithAdvice()
    {
        var e = Fails(File.ReadAllBytes(Fixture("torch_legacy.pt")));
        Assert.Contains("legacy serialization format", e.Message);
        Assert.Contains("_use_new_zipfile_serialization=False", e.Message);
        Assert.Contains("torch.save(model.state_dict(), path)", e.Message);
        Assert.Contains("bare pickle", Fails(new PickleWriter().Proto(4).Op('}').Stop().ToArray()).Message);
    }

    [Fact]
    public void TorchScriptIsRefusedWithAdvice()
    {
        var e = Fails(File.ReadAllBytes(Fixture("torch_script.pt")));
        Assert.Contains("TorchScript archive", e.Message);
        Assert.Contains("torch.save(model.state_dict(), path)", e.Message);
    }

    [Fact]
    public void OtherZipsAreRefused()
    {
        Assert.Contains("no entries", Fails(TorchZip.Build([])).Message);
        var e = Fails(TorchZip.Build([("readme.txt", "hi"u8.ToArray()), ("model/weights.bin", new byte[8])]));
        Assert.Contains("not a torch.save file: no <name>/data.pkl entry", e.Message);
        Assert.Contains("'readme.txt'", e.Message);
        byte[] pickle = PickleWriter.StateDict([]);
        Assert.Contains("2 torch.save records", Fails(TorchZip.Build([("a/data.pkl", pickle), ("b/data.pkl", pickle)])).Message);
        Assert.Contains("holds a tensor, not a state_dict", Fails(TorchZip.Archive(new PickleWriter().Proto().Tensor(PtTensor.Contiguous("", "0", [2])).Stop().ToArray(), [("0", new byte[8])])).Message);
        Assert.Contains("no RNN tensors", Fails(TorchZip.Archive(pickle, [])).Message);
    }

    // --- Hostile pickles: refused by name the moment they name a global; nothing runs ---

    public static TheoryData<string, string, string> Payloads => new()
    {
        { "os", "system", "touch {0}" },
        { "builtins", "eval", "__import__('os').system('touch {0}')" },
        { "subprocess", "Popen", "touch {0}" },
        { "posix", "system", "touch {0}" },
        { "__builtin__", "exec", "import os; os.system('touch {0}')" },
        { "nt", "system", "type nul > {0}" },
        { "torch", "load", "{0}" },
        { "torch._utils", "_rebuild_from_type_v2", "{0}" },
    };

    [Theory]
    [MemberData(nameof(Payloads))]
    public void DangerousGlobalsAreRefusedAndNothingRuns(string module, string name, string argument)
    {
        string marker = Path.Combine(Path.GetTempPath(), $"rnnrt-pwned-{Guid.NewGuid():N}");
        string arg = string.Format(argument, marker);
        var (t, s) = TorchZip.FromSafetensors(Gru());

        // As the whole pickle (GLOBAL, protocol 2), after a real tensor inside a state_dict, and by STACK_GLOBAL (protocol 4).
        byte[] alone = new PickleWriter().Proto().Global(module, name).Mark().Str(arg).Op('t').Op('R').Stop().ToArray();
        var w = new PickleWriter().Proto().EmptyOrderedDict().Mark().Str(t[0].Name).Tensor(t[0]).Str("x");
        byte[] inside = w.Global(module, name).Mark().Str(arg).Op('t').Op('R').Op('u').Stop().ToArray();
        byte[] stack = new PickleWriter().Proto(4).Op(0x8c, (byte)module.Length).Op(Encoding.ASCII.GetBytes(module))
            .Op(0x8c, (byte)name.Length).Op(Encoding.ASCII.GetBytes(name)).Op(0x93).Str(arg).Op(0x85).Op('R').Stop().ToArray();
        foreach (byte[] pickle in new[] { alone, inside, stack })
        {
            var e = Fails(TorchZip.Archive(pickle, s));
            Assert.Contains($"'{module}.{name}'", e.Message);
            Assert.Contains("nothing was imported or run", e.Message);
            Assert.Contains("torch.save(model.state_dict(), path)", e.Message);
            Assert.Contains("archive/data.pkl", e.Message);
        }
        Assert.False(File.Exists(marker), $"{module}.{name} ran: {marker} exists");
    }

    [Fact]
    public void ObjectConstructionAndOldProtocolOpcodesAreRefused()
    {
        byte[] Pt(byte[] pickle) => TorchZip.Archive(pickle, []);
        Assert.Contains("constructs an object", Fails(Pt(new PickleWriter().Proto().EmptyOrderedDict().Op(')').Op(0x81).Stop().ToArray())).Message);
        Assert.Contains("protocol 0/1", Fails(Pt(new PickleWriter().Proto().Op('I').Op("1\n"u8.ToArray()).Stop().ToArray())).Message);
        Assert.Contains("pickle protocol 9", Fails(Pt(new PickleWriter().Proto(9).Op('}').Stop().ToArray())).Message);
        Assert.Contains("copyreg", Fails(Pt(new PickleWriter().Proto().Op(0x82, 1).Stop().ToArray())).Message);
        Assert.Contains("REDUCE calls the storage type", Fails(Pt(new PickleWriter().Proto().Global("torch", "FloatStorage").Op(')').Op('R').Stop().ToArray())).Message);
        Assert.Contains("BUILD on a list", Fails(Pt(new PickleWriter().Proto().Op(']').Op('}').Op('b').Stop().ToArray())).Message);
    }

    // --- Damaged pickles: limits and structure ---

    [Fact]
    public void PickleLimitsHold()
    {
        byte[] Pt(byte[] pickle) => TorchZip.Archive(pickle, []);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Contains("memo index 4294967295 exceeds the limit", Fails(Pt(new PickleWriter().Proto().Op('}').Op('r', 0xff, 0xff, 0xff, 0xff).Stop().ToArray())).Message);
        Assert.Contains("never PUT", Fails(Pt(new PickleWriter().Proto().Op('j', 0, 0, 1, 0).Stop().ToArray())).Message);
        // Claimed string, bytes and long lengths far beyond the pickle: refused before anything is allocated.
        Assert.Contains("runs past the end of the pickle", Fails(Pt(new PickleWriter().Proto().Op('X', 0xf0, 0xff, 0xff, 0xff).Stop().ToArray())).Message);
        Assert.Contains("runs past the end of the pickle", Fails(Pt(new PickleWriter().Proto().Op(0x8e, 0, 0, 0, 0, 0, 0, 0, 0x40).Stop().ToArray())).Message);
        Assert.Contains("runs past the end of the pickle", Fails(Pt(new PickleWriter().Proto().Op(0x8b, 0xff, 0xff, 0xff, 0x7f).Stop().ToArray())).Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 8 << 20, "claimed lengths must not be allocated");

        Assert.Contains($"more than {256} nested MARKs", Fails(Pt([0x80, 2, .. Enumerable.Repeat((byte)'(', 5000), (byte)'.'])).Message);
        Assert.Contains("more than 131072 values on the pickle stack", Fails(Pt([0x80, 2, .. Enumerable.Repeat((byte)'N', 200_000), (byte)'.'])).Message);
        // Values kept only in a list (never on the stack or in the memo) are counted too.
        byte[] many = [0x80, 2, (byte)']', .. Enumerable.Range(0, (1 << 20) + 1).SelectMany(_ => "Na"u8.ToArray()), (byte)'.'];
        Assert.Contains("more than 1048576 values", Fails(Pt(many)).Message);
        // Dicts with many keys, and a later value for a key replacing the earlier one (as in Python).
        var w = new PickleWriter().Proto().Op('}').Mark();
        for (int i = 0; i < 50; i++) w.Str($"k{i % 20}").Int(i);
        var d = Assert.IsType<RnnRuntime.Model.Torch.StateDictUnpickler.PickleDict>(RnnRuntime.Model.Torch.StateDictUnpickler.Load("x", w.Op('u').Stop().ToArray()));
        Assert.Equal(20, d.Items.Count);
        Assert.Equal(("k0", (object?)40L), ((string)d.Items[0].Key!, d.Items[0].Value));
        Assert.Equal(("k19", (object?)39L), ((string)d.Items[19].Key!, d.Items[19].Value));
        // 100 000 nested lists: refused at depth 32, no stack overflow.
        const int n = 100_000;
        byte[] deep = [0x80, 2, (byte)'}', 0x8c, 1, (byte)'a', .. Enumerable.Repeat((byte)']', n), .. Enumerable.Repeat((byte)'a', n - 1), (byte)'s', (byte)'.'];
        Assert.Contains("more than 32 deep", Fails(Pt(deep)).Message);
        // A dict that contains itself (through the memo).
        Assert.Contains("more than 32 deep", Fails(Pt(new PickleWriter().Proto().Op('}').Op('q', 0).Str("self").Op('h', 0).Op('s').Stop().ToArray())).Message);

        Assert.Contains("without a STOP opcode", Fails(Pt(PickleWriter.StateDict([])[..^1])).Message);
        Assert.Contains("truncated", Fails(Pt(new PickleWriter().Proto().Op('J', 1, 2).ToArray())).Message);
        Assert.Contains("2 values on the stack", Fails(Pt(new PickleWriter().Proto().Op('}').Op('}').Stop().ToArray())).Message);
        Assert.Contains("pop from an empty stack", Fails(Pt(new PickleWriter().Proto().Op('s').Stop().ToArray())).Message);
        Assert.Contains("not valid UTF-8", Fails(Pt(new PickleWriter().Proto().Op(0x8c, 2, 0xc3, 0x28).Stop().ToArray())).Message);
        Assert.Contains("not ('storage'", Fails(Pt(new PickleWriter().Proto().Str("x").Op('Q').Stop().ToArray())).Message);
    }

    // --- Damaged archives: every failure names the tensor or entry ---

    [Fact]
    public void MissingOrShortStoragesFailNamingTheTensor()
    {
        var e = Fails(GruPt(storages: s => s.Where(x => x.Key != "2")));
        Assert.Equal("bias_ih_l0", e.TensorName);
        Assert.Contains("zip entry 'archive/data/2', which is missing", e.Message);

        e = Fails(GruPt(storages: s => s.Select(x => x.Key == "1" ? (x.Key, x.Data[..^8]) : (x.Key, x.Data))));
        Assert.Equal("weight_hh_l0", e.TensorName);
        Assert.Contains("'archive/data/1' holds 184 bytes, but the pickle says 48 elements of torch.FloatStorage (192 bytes)", e.Message);

        // A damaged byte inside a stored storage: its CRC-32 no longer matches.
        byte[] marked = GruPt(storages: s => s.Select(x => x.Key == "3" ? (x.Key, Enumerable.Repeat((byte)0x3c, 48).ToArray()) : (x.Key, x.Data)));
        int at = marked.AsSpan().IndexOf(Enumerable.Repeat((byte)0x3c, 48).ToArray());
        marked[at + 17] ^= 0x01;
        e = Fails(marked);
        Assert.Equal("bias_hh_l0", e.TensorName);
        Assert.Contains("'archive/data/3' fails its CRC-32 check", e.Message);

        // Two tensors that disagree about one storage.
        e = Fails(GruPt(ts => ts.Select(t => t.Name == "bias_hh_l0" ? t with { Key = "2", StorageType = "HalfStorage", Numel = 12 } : t)));
        Assert.Contains("storage '2' is a torch.HalfStorage of 12 elements here but a torch.FloatStorage of 12", e.Message);
    }

    public static TheoryData<string, long, long, long[], long[], string> BadViews => new()
    {
        { "extent past the storage", 47, 0, [12, 4], [4, 1], "reaches element 47, past the end of its storage '1' of 47 elements" },
        { "offset past the storage", 48, 49, [12, 4], [4, 1], "the offset lies outside its storage '1' of 48 elements" },
        { "negative offset", 48, -1, [12, 4], [4, 1], "the offset lies outside" },
        { "negative stride", 48, 47, [12, 4], [-4, -1], "negative stride" },
        { "negative size", 48, 0, [-12, -4], [4, 1], "negative size" },
        { "huge sizes", 48, 0, [1L << 40, 1L << 40], [1, 1], "the view's extent overflows" },
        { "huge stride", 48, 0, [12, 4], [1L << 62, 1], "the view's extent overflows" },
        { "expanded view", 1, 0, [12, 4], [0, 0], "overlapping (expanded) views are not read" },
    };

    [Theory]
    [MemberData(nameof(BadViews))]
    public void BadViewsFailNamingTheTensor(string what, long numel, long offset, long[] size, long[] stride, string message)
    {
        var e = Fails(GruPt(ts => ts.Select(t => t.Name == "weight_hh_l0" ? t with { Numel = numel, Offset = offset, Size = size, Stride = stride } : t),
            s => s.Select(x => x.Key == "1" ? (x.Key, new byte[4 * numel]) : (x.Key, x.Data))));
        Assert.True(e.TensorName == "weight_hh_l0", what);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void DeclaredSizesThatLieFailWithoutAllocating()
    {
        // The pickle says storage 1 has 400 million floats; the zip entry claims the same 1.6 GB.
        byte[] huge = GruPt(ts => ts.Select(t => t.Name == "weight_hh_l0" ? t with { Numel = 400_000_000 } : t));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Fails(TorchZip.PatchSizes(huge, "archive/data/1", uncompressed: 1_600_000_000, compressed: 1_600_000_000));
        Assert.Contains("more than the whole file", e.Message);
        Assert.Equal("weight_hh_l0", e.TensorName);
        byte[] deflated = GruPt(ts => ts.Select(t => t.Name == "weight_hh_l0" ? t with { Numel = 400_000_000 } : t), deflate: true);
        e = Fails(TorchZip.PatchSizes(deflated, "archive/data/1", uncompressed: 1_600_000_000));
        Assert.Contains("more than deflate can expand to", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20, "declared sizes must not be allocated");

        // A deflated storage that declares 4 bytes more than it holds (the pickle agrees with the lie).
        byte[] longer = GruPt(ts => ts.Select(t => t.Name == "weight_hh_l0" ? t with { Numel = 49 } : t), deflate: true);
        e = Fails(TorchZip.PatchSizes(longer, "archive/data/1", uncompressed: 196));
        Assert.Contains("archive/data/1", e.Message);
        Assert.Equal("weight_hh_l0", e.TensorName);

        // ... and one that declares 4 bytes fewer.
        byte[] shorter = GruPt(ts => ts.Select(t => t.Name == "weight_hh_l0" ? t with { Numel = 47, Size = [47], Stride = [1] } : t), deflate: true);
        e = Fails(TorchZip.PatchSizes(shorter, "archive/data/1", uncompressed: 188));
        Assert.Contains("archive/data/1", e.Message);

        // The pickle itself.
        byte[] pkl = GruPt(deflate: true);
        Assert.Contains("archive/data.pkl", Fails(TorchZip.PatchSizes(pkl, "archive/data.pkl", uncompressed: 100)).Message);
    }

    [Fact]
    public void EndOfCentralDirectoryClaimsFailWithoutAllocating()
    {
        static byte[] Eocd(ushort entries, uint size, uint offset, byte[]? before = null)
        {
            var e = new byte[22];
            BinaryPrimitives.WriteUInt32LittleEndian(e, 0x06054b50);
            BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(8), entries);
            BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(10), entries);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(12), size);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(16), offset);
            return [.. before ?? [], .. e];
        }
        byte[] local = GruPt()[..64];   // a real local header to start with, then nonsense
        long before = GC.GetAllocatedBytesForCurrentThread();
        Fails(Eocd(0xffff, 0xffffffff, 0xffffffff));   // zip64 markers without a zip64 record
        Fails(Eocd(0xfffe, 0x7fffffff, 0));            // a central directory far larger than the file
        Fails(Eocd(0xfffe, 40, 0, local));             // 65534 entries claimed, garbage where they should be
        Fails(Eocd(3, 22, 64, local));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20, "claimed central directories must not be allocated");
    }

    [Fact]
    public void TruncatedArchivesFail()
    {
        byte[] good = File.ReadAllBytes(Fixture("gru_pt_l1_b1.pt"));
        for (int cut = 1; cut < good.Length - 4; cut += 13) Fails(good[..^cut]);
    }

    [Fact]
    public void RandomBytesAfterTheMagicFail()
    {
        var rng = new Random(12345);
        foreach (byte[] magic in new byte[][] { [0x50, 0x4b, 3, 4], [0x50, 0x4b, 5, 6], [0x50, 0x4b, 7, 8] })
            for (int i = 0; i < 200; i++)
            {
                var file = new byte[4 + rng.Next(0, 600)];
                rng.NextBytes(file);
                magic.CopyTo(file, 0);
                Fails(file);
            }
    }

    [Fact]
    public void CorruptedArchivesAndPicklesFailCleanly()
    {
        // Random damage anywhere in a real file, or anywhere in its pickle (re-zipped so the zip is sound):
        // a model or an RnnModelException, never another exception.
        var rng = new Random(777);
        byte[] good = File.ReadAllBytes(Fixture("lstm_pt_checkpoint_l1_b2.pt"));
        for (int i = 0; i < 300; i++)
        {
            byte[] file = (byte[])good.Clone();
            for (int k = rng.Next(1, 5); k > 0; k--) file[rng.Next(file.Length)] = (byte)rng.Next(256);
            LoadsOrFailsCleanly(file);
        }
        var (t, s) = TorchZip.FromSafetensors(TestModels.Create(RnnCellKind.Lstm, 3, 4, layers: 2));
        byte[] pickle = PickleWriter.StateDict(t);
        for (int i = 0; i < 600; i++)
        {
            byte[] p = (byte[])pickle.Clone();
            for (int k = rng.Next(1, 4); k > 0; k--) p[rng.Next(p.Length)] = (byte)rng.Next(256);
            LoadsOrFailsCleanly(TorchZip.Archive(p, s));
        }
    }

    private static void LoadsOrFailsCleanly(byte[] file)
    {
        try
        {
            using var m = RnnModel.Load(file, Ref);
        }
        catch (RnnModelException)
        {
        }
    }

    private static float[] MemoryMarshal(byte[] bytes) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();

    private static byte[] Bytes(float[] f) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()).ToArray();
}
