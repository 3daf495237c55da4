using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using RnnRuntime.Model;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>
/// What the mutation test and afl++ found, pinned: header strings that are not valid UTF-8 or hold an
/// escape for half a surrogate pair once escaped with InvalidOperationException ("Cannot transcode
/// invalid UTF-8 JSON text to UTF-16 string", "Invalid surrogate value"), from JsonProperty.Name,
/// JsonElement.GetString and JsonElement.TryGetProperty; keys given twice were taken silently.
/// </summary>
public class LoaderRegressionTests
{
    private static readonly RnnOptions Ref = new() { Backend = "reference" };

    /// <summary>A valid GRU (input 5, hidden 4) whose header text is edited, the header length kept right.</summary>
    private static byte[] WithHeader(Func<string, string> edit) => WithHeaderBytes(h => Encoding.UTF8.GetBytes(edit(h)));

    private static byte[] WithHeaderBytes(Func<string, byte[]> edit)
    {
        byte[] model = TestModels.Create(RnnCellKind.Gru, 5, 4);
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(model);
        string header = Encoding.UTF8.GetString(model, 8, length);
        byte[] json = edit(header);
        var file = new byte[8 + json.Length + model.Length - 8 - length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        model.AsSpan(8 + length).CopyTo(file.AsSpan(8 + json.Length));
        return file;
    }

    private static byte[] Utf8With(string header, string marker, params byte[] bytes)
    {
        byte[] text = Encoding.UTF8.GetBytes(header);
        int at = Encoding.UTF8.GetBytes(header[..header.IndexOf(marker, StringComparison.Ordinal)]).Length + marker.Length;
        return [.. text.AsSpan(0, at), .. bytes, .. text.AsSpan(at)];
    }

    private static RnnModelException Fails(byte[] file)
    {
        var e = Assert.Throws<RnnModelException>(() => { using var m = RnnModel.Load(file, Ref); });
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        return e;
    }

    [Fact]
    public void TheUneditedModelLoads()
    {
        using var m = RnnModel.Load(WithHeader(h => h), Ref);
        Assert.Equal(4, m.HiddenSize);
    }

    [Theory]
    [InlineData("\"weight_ih", new byte[] { 0xFF })]              // in a tensor name
    [InlineData("\"weight_hh_l0\":{\"dt", new byte[] { 0xC3 })]   // in a key of an entry (a lone lead byte)
    [InlineData("\"dtype\":\"F", new byte[] { 0xC0, 0x80 })]        // in a dtype (overlong encoding of NUL)
    [InlineData("\"bias_ih_l0", new byte[] { 0xED, 0xA0, 0x80 })]  // an encoded surrogate (CESU-8)
    [InlineData("\"weight_ih_l0\"", new byte[] { 0x20, 0xF4, 0x90, 0x80, 0x80 })] // past U+10FFFF, outside any string
    public void InvalidUtf8InTheHeaderFails(string after, byte[] bytes)
    {
        var e = Fails(WithHeaderBytes(h => Utf8With(h, after, bytes)));
        Assert.Contains("not valid UTF-8", e.Message);
        Assert.Contains("header offset", e.Message);
    }

    [Fact]
    public void InvalidUtf8InMetadataFails()
    {
        byte[] file = WithHeaderBytes(h => Utf8With(ReplaceFirst(h, "{", "{\"__metadata__\":{\"nonlinearity\":\"tanh\"},"), "\"nonlinearity\":\"ta", 0xE2, 0x82));
        Assert.Contains("not valid UTF-8", Fails(file).Message);
    }

    [Theory]
    [InlineData("\"weight_ih_l0\"", "\"weight_ih_l0\\ud800\"")]                  // tensor name
    [InlineData("\"weight_hh_l0\"", "\"weight_hh_l0\\udfff\"")]                  // a low surrogate alone
    [InlineData("\"bias_hh_l0\"", "\"bias_hh_l0\\ud800\\u0041\"")]               // high surrogate + not a low one
    [InlineData("\"dtype\":\"F32\"", "\"dtype\":\"F32\\udbff\"")]                // a dtype
    [InlineData("\"shape\"", "\"sh\\ud800ape\"")]                                 // a key inside an entry (TryGetProperty threw)
    [InlineData("{", "{\"__metadata__\":{\"\\udc00\":\"x\"},")]                   // a metadata key
    [InlineData("{", "{\"__metadata__\":{\"nonlinearity\":\"\\ud800\"},")]        // a metadata value
    public void UnpairedSurrogateEscapesFail(string find, string replace)
    {
        var e = Fails(WithHeader(h => ReplaceFirst(h, find, replace)));
        Assert.Contains("not valid Unicode", e.Message);
    }

    [Fact]
    public void ValidEscapesStillLoad()
    {
        // "weight\u005fih_l0" is "weight_ih_l0"; a surrogate pair is fine in a name the loader ignores.
        byte[] file = WithHeader(h => ReplaceFirst(ReplaceFirst(h, "\"weight_ih_l0\"", "\"weight\\u005fih_l0\""),
            "{", "{\"__metadata__\":{\"note\":\"\\ud83d\\ude00 \\u00e9\"},"));
        using var m = RnnModel.Load(file, Ref);
        Assert.Equal(5, m.InputSize);
    }

    [Theory]
    [InlineData("\"dtype\":\"F32\"", "\"dtype\":\"F32\",\"dtype\":\"F16\"", "'dtype' appears twice")]
    [InlineData("\"dtype\":\"F32\"", "\"dtype\":\"F32\",\"shape\":[1]", "'shape' appears twice")]
    [InlineData("\"dtype\":\"F32\"", "\"dtype\":\"F32\",\"data_offsets\":[0,0]", "'data_offsets' appears twice")]
    [InlineData("\"dtype\":\"F32\"", "\"d\\u0074ype\":\"F32\",\"dtype\":\"F32\"", "'dtype' appears twice")]   // the same key, escaped
    [InlineData("{", "{\"__metadata__\":{\"cell\":\"GRU\",\"cell\":\"LSTM\"},", "__metadata__ entry 'cell' appears twice")]
    [InlineData("{", "{\"__metadata__\":{},\"__metadata__\":{\"nonlinearity\":\"relu\"},", "__metadata__ appears twice")]
    public void DuplicateKeysFail(string find, string replace, string message)
    {
        Assert.Contains(message, Fails(WithHeader(h => ReplaceFirst(h, find, replace))).Message);
    }

    [Theory]
    [InlineData("1e400")]
    [InlineData("18446744073709551616")]
    [InlineData("9223372036854775808")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("99999999999999999999999999999999")]
    public void HugeOrOddNumbersInShapesAndOffsetsFail(string number)
    {
        // The first dimension of a shape, then the begin and the end of an entry's data_offsets.
        Fails(WithHeader(h => Regex.Replace(h, "(\"shape\":\\[)[0-9]+", "${1}" + number, RegexOptions.None, TimeSpan.FromSeconds(1))));
        Fails(WithHeader(h => new Regex("(\"data_offsets\":\\[)[0-9]+").Replace(h, "${1}" + number, 1)));
        Fails(WithHeader(h => new Regex("(\"data_offsets\":\\[[0-9]+,)[0-9]+").Replace(h, "${1}" + number, 1)));
    }

    [Fact]
    public void DeepNestingFails()
    {
        Assert.Contains("not valid JSON", Fails(WithHeader(h => ReplaceFirst(h, "{", "{\"x\":" + new string('[', 64) + new string(']', 64) + ","))).Message);
    }

    private static string ReplaceFirst(string s, string find, string replace)
    {
        int i = s.IndexOf(find, StringComparison.Ordinal);
        Assert.True(i >= 0, $"'{find}' is not in the header {s}");
        return s[..i] + replace + s[(i + find.Length)..];
    }
}
