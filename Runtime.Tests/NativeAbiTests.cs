using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using RnnRuntime.Native;

namespace RnnRuntime.Tests;

/// <summary>
/// The C ABI is kept by hand in four places: include/rnnrt.h (the truth), Exports.cs with
/// NativeStatus.cs, the loader's table (which takes the header's types, so the compiler checks it)
/// and the Python package's ctypes layer (python/tests/test_abi.py). Runtime.Native/tests/abi.py
/// reads the header's names and has the C compiler measure sizes, offsets and values; this compares
/// the C# side with that: every export's signature, every struct's size and field offsets, every
/// status code and its name, every constant that C# spells as an enum.
/// </summary>
public class NativeAbiTests
{
    private static readonly Lazy<JsonElement> s_abi = new(Measure);

    private static JsonElement Measure()
    {
        string script = Path.Combine(VersionTests.Root, "Runtime.Native", "tests", "abi.py");
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        Process p;
        try
        {
            p = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"python3 is needed to measure rnnrt.h ({e.Message})");
        }
        string json = p.StandardOutput.ReadToEnd(), errors = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"abi.py failed (it needs python3 and a C compiler, cc or $CC): {errors}");
        return JsonDocument.Parse(json).RootElement;
    }

    private static JsonElement Abi
    {
        get
        {
            if (!OperatingSystem.IsLinux()) Assert.Skip("the C ABI is measured with the Linux C toolchain");
            return s_abi.Value;
        }
    }

    /// <summary>A C# parameter or return type in abi.py's classes.</summary>
    private static string TypeClass(Type t)
    {
        if (t == typeof(void)) return "void";
        if (t == typeof(int)) return "i32";
        if (t == typeof(uint)) return "u32";
        if (t == typeof(nuint)) return "size";
        if (t == typeof(nint)) return "ptr";   // a handle
        if (t.IsPointer)
        {
            Type target = t.GetElementType()!;
            return Structs.FirstOrDefault(s => s.Type == target).C is string c ? $"struct {c}*" : "ptr";
        }
        return t.FullName!;
    }

    private static readonly (Type Type, string C)[] Structs =
    [
        (typeof(NativeModelInfo), "rnnrt_model_info"),
        (typeof(NativeLoadOptions), "rnnrt_load_options"),
        (typeof(NativeLayerInfo), "rnnrt_layer_info"),
    ];

    private static string Pascal(string snake) =>
        string.Concat(snake.Split('_').Select(w => w.Length == 0 ? "" : char.ToUpperInvariant(w[0]) + w[1..]));

    [Fact]
    public void EveryExportHasTheHeadersSignature()
    {
        JsonElement functions = Abi.GetProperty("functions");
        var exports = typeof(Exports).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<UnmanagedCallersOnlyAttribute>()))
            .Where(e => e.Attribute is not null)
            .ToDictionary(e => e.Attribute!.EntryPoint!, e => e.Method);
        var declared = functions.EnumerateObject().Select(f => f.Name).ToHashSet();
        Assert.Equal(declared.Order(), exports.Keys.Order());
        foreach (JsonProperty f in functions.EnumerateObject())
        {
            MethodInfo m = exports[f.Name];
            string want = $"{f.Value.GetProperty("ret").GetString()} ({string.Join(", ", f.Value.GetProperty("params").EnumerateArray().Select(p => p.GetString()))})";
            string got = $"{TypeClass(m.ReturnType)} ({string.Join(", ", m.GetParameters().Select(p => TypeClass(p.ParameterType)))})";
            Assert.True(want == got, $"{f.Name}: rnnrt.h says {want}; Exports.{m.Name} is {got}");
        }
    }

    [Fact]
    public void EveryStructHasTheHeadersLayout()
    {
        JsonElement structs = Abi.GetProperty("structs");
        Assert.Equal(structs.EnumerateObject().Select(s => s.Name).Order(), Structs.Select(s => s.C).Order());
        foreach ((Type type, string c) in Structs)
        {
            JsonElement s = structs.GetProperty(c);
            Assert.True(s.GetProperty("size").GetInt32() == Marshal.SizeOf(type), $"sizeof(struct {c}) is {s.GetProperty("size").GetInt32()}; {type.Name} is {Marshal.SizeOf(type)} bytes");
            string[] fields = type.GetFields(BindingFlags.Public | BindingFlags.Instance).Select(f => f.Name).ToArray();
            string[] cFields = s.GetProperty("fields").EnumerateArray().Select(f => Pascal(f.GetProperty("name").GetString()!)).ToArray();
            Assert.Equal(cFields, fields);
            foreach (JsonElement f in s.GetProperty("fields").EnumerateArray())
            {
                string name = Pascal(f.GetProperty("name").GetString()!);
                FieldInfo field = type.GetField(name)!;
                int offset = (int)Marshal.OffsetOf(type, name);
                int size = field.FieldType.IsPointer ? IntPtr.Size : Marshal.SizeOf(field.FieldType);
                Assert.True(f.GetProperty("offset").GetInt32() == offset && f.GetProperty("size").GetInt32() == size,
                    $"struct {c}.{f.GetProperty("name").GetString()}: C has offset {f.GetProperty("offset")}, size {f.GetProperty("size")}; {type.Name}.{name} has {offset}, {size}");
            }
        }
        // The least struct_size a caller may pass: where each first version ended, in C and in C#.
        Assert.Equal(NativeModelInfo.FirstVersionSize, Offset(structs, "rnnrt_model_info", "layer_count"));
        Assert.Equal(NativeModelInfo.FirstVersionSize, (int)Marshal.OffsetOf<NativeModelInfo>(nameof(NativeModelInfo.LayerCount)));
        Assert.Equal(NativeLoadOptions.FirstVersionSize, Offset(structs, "rnnrt_load_options", "nonlinearity"));
        Assert.Equal(NativeLoadOptions.FirstVersionSize, (int)Marshal.OffsetOf<NativeLoadOptions>(nameof(NativeLoadOptions.Nonlinearity)));
        Assert.Equal(structs.GetProperty("rnnrt_layer_info").GetProperty("size").GetInt32(), NativeLayerInfo.FirstVersionSize);
    }

    private static int Offset(JsonElement structs, string s, string field) =>
        structs.GetProperty(s).GetProperty("fields").EnumerateArray().First(f => f.GetProperty("name").GetString() == field).GetProperty("offset").GetInt32();

    [Fact]
    public unsafe void EveryStatusHasTheHeadersCodeAndName()
    {
        var status = Abi.GetProperty("status").EnumerateObject().ToDictionary(s => s.Name, s => s.Value.GetInt32());
        var managed = Enum.GetValues<NativeStatus>().ToDictionary(s => "RNNRT_" + Snake(s.ToString()), s => (int)s);
        Assert.Equal(status.OrderBy(kv => kv.Value), managed.OrderBy(kv => kv.Value));
        foreach ((string name, int code) in status)
            Assert.Equal(name, Marshal.PtrToStringUTF8((nint)Exports.StatusName((NativeStatus)code)));
    }

    [Fact]
    public void EveryConstantHasTheEnumsValue()
    {
        var constants = Abi.GetProperty("constants").EnumerateObject().ToDictionary(c => c.Name, c => c.Value.GetInt32());
        var managed = new Dictionary<string, int> { ["RNNRT_THREADS_PER_CORE"] = Exports.ThreadsPerCore };
        void Add<TEnum>(string prefix) where TEnum : struct, Enum
        {
            foreach (TEnum v in Enum.GetValues<TEnum>()) managed[prefix + Snake(v.ToString()).Replace("B_FLOAT", "BFLOAT")] = Convert.ToInt32(v);
        }
        Add<RnnCellKind>("RNNRT_CELL_");
        Add<RnnNonlinearity>("RNNRT_NONLINEARITY_");
        Add<RnnWeightFormat>("RNNRT_WEIGHTS_");
        Add<NativeLayerKind>("RNNRT_LAYER_");
        Assert.Equal(constants.OrderBy(kv => kv.Key), managed.OrderBy(kv => kv.Key));
    }

    private static string Snake(string pascal) =>
        string.Concat(pascal.Select((ch, i) => i > 0 && char.IsUpper(ch) ? "_" + ch : ch.ToString())).ToUpperInvariant();
}
