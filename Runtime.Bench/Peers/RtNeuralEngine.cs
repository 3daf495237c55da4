using System.Runtime.InteropServices;
using RnnRuntime.Bench.Suite;

namespace RnnRuntime.Bench.Peers;

/// <summary>
/// RTNeural (github.com/jatinchowdhury18/RTNeural, the C++ inference library of real-time audio plugins)
/// through the C-ABI shim of <c>Peers/rtneural/rtneural_peer.cpp</c>, one shared library per RTNeural
/// backend (<c>librtneural_peer_{eigen,xsimd,stl}.so</c>, built by <c>./build.sh bench --peers</c> when
/// RTNEURAL_DIR or RTNEURAL_GIT + XSIMD_GIT are set, found through <see cref="DirectoryVariable"/>).
/// Engine names: <c>rtneural-BACKEND</c> is the compile-time <c>RTNeural::ModelT</c> of the network (the
/// fast path plugins use), <c>rtneural-BACKEND-json</c> the run-time <c>RTNeural::Model</c> from
/// <c>json_parser::parseJson</c>. Both load the JSON <see cref="RtNeuralJson"/> writes from the bench's
/// own weights. One sample per call, batch 1, state carried: Step only.
/// </summary>
public sealed unsafe class RtNeuralEngine : IEngine, IStreamEngine
{
    /// <summary>The folder of the shim's libraries; ./build.sh bench --peers sets it (artifacts/rtneural).</summary>
    public const string DirectoryVariable = "RNNRT_RTNEURAL_DIR";

    public const string Prefix = "rtneural-", JsonSuffix = "-json";

    private static readonly string[] Backends = ["eigen", "xsimd", "stl"];

    private sealed class Library
    {
        public required string Info;
        public required delegate* unmanaged<byte*, byte*, byte*, int, nint> Create;
        public required delegate* unmanaged<nint, int> InSize, OutSize;
        public required delegate* unmanaged<nint, void> Reset, Free;
        // One sample is a short, non-blocking native call: no GC transition (as rnnrt's own C entry points
        // would be called by a tight loop). n samples is not: a normal transition.
        public required delegate* unmanaged[SuppressGCTransition]<nint, float*, float*, void> Forward;
        public required delegate* unmanaged<nint, float*, float*, int, void> Process;
    }

    private static readonly Dictionary<string, Library> Loaded = [];

    /// <summary>The folder holding the shim's libraries, or null when the peer is not built.</summary>
    public static string? LibraryDirectory =>
        Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } d && Directory.Exists(d) ? d : null;

    private static string LibraryPath(string dir, string backend) =>
        Path.Combine(dir, OperatingSystem.IsWindows() ? $"rtneural_peer_{backend}.dll"
            : OperatingSystem.IsMacOS() ? $"librtneural_peer_{backend}.dylib" : $"librtneural_peer_{backend}.so");

    /// <summary>The RTNeural engines whose library is present: per backend, ModelT then json.</summary>
    public static IReadOnlyList<string> Available()
    {
        if (LibraryDirectory is not string dir) return [];
        return Backends.Where(b => File.Exists(LibraryPath(dir, b))).SelectMany(b => new[] { Prefix + b, Prefix + b + JsonSuffix }).ToList();
    }

    /// <summary>What a backend's library says it is (RTNeural backend and instruction set).</summary>
    public static string Info(string backend) => Load(backend).Info;

    private static Library Load(string backend)
    {
        lock (Loaded)
        {
            if (Loaded.TryGetValue(backend, out Library? lib)) return lib;
            string dir = LibraryDirectory ?? throw new InvalidOperationException(
                $"the RTNeural peer is not built: ./build.sh bench --peers with RTNEURAL_DIR (or RTNEURAL_GIT and XSIMD_GIT) set, or {DirectoryVariable}=<folder of librtneural_peer_*.so>");
            nint h = NativeLibrary.Load(LibraryPath(dir, backend));
            nint F(string name) => NativeLibrary.GetExport(h, name);
            lib = new Library
            {
                Info = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)F("rtnp_info"))()) ?? "",
                Create = (delegate* unmanaged<byte*, byte*, byte*, int, nint>)F("rtnp_create"),
                InSize = (delegate* unmanaged<nint, int>)F("rtnp_in_size"),
                OutSize = (delegate* unmanaged<nint, int>)F("rtnp_out_size"),
                Reset = (delegate* unmanaged<nint, void>)F("rtnp_reset"),
                Free = (delegate* unmanaged<nint, void>)F("rtnp_free"),
                Forward = (delegate* unmanaged[SuppressGCTransition]<nint, float*, float*, void>)F("rtnp_forward"),
                Process = (delegate* unmanaged<nint, float*, float*, int, void>)F("rtnp_process"),
            };
            Loaded[backend] = lib;
            return lib;
        }
    }

    private readonly Library _lib;
    private nint _model;
    private readonly float* _x, _y;
    private readonly int _in, _out;

    public RtNeuralEngine(string name, BenchNetwork n)
    {
        if (!name.StartsWith(Prefix, StringComparison.Ordinal)) throw new ArgumentException($"not an RTNeural engine: {name}", nameof(name));
        string rest = name[Prefix.Length..];
        bool json = rest.EndsWith(JsonSuffix, StringComparison.Ordinal);
        string backend = json ? rest[..^JsonSuffix.Length] : rest;
        if (!Backends.Contains(backend)) throw new ArgumentException($"unknown RTNeural backend '{backend}' in {name}; known: {string.Join(", ", Backends)}", nameof(name));
        _lib = Load(backend);
        Name = name;
        byte[] text = System.Text.Encoding.UTF8.GetBytes(RtNeuralJson.Write(n) + "\0");
        byte[] model = System.Text.Encoding.UTF8.GetBytes((json ? "json" : n.Name) + "\0");
        var err = new byte[512];
        fixed (byte* t = text, m = model, e = err)
            _model = _lib.Create(t, m, e, err.Length);
        if (_model == 0)
            throw new InvalidOperationException($"{name}: RTNeural could not make {n}: {System.Text.Encoding.UTF8.GetString(err).TrimEnd('\0')}");
        _in = _lib.InSize(_model);
        _out = _lib.OutSize(_model);
        if (_in != n.Input || _out != n.Output)
        {
            _lib.Free(_model);
            throw new InvalidOperationException($"{name}: RTNeural's model of {n} is {_in} -> {_out}, expected {n.Input} -> {n.Output}");
        }
        // 64-byte aligned and padded to whole 16-float frames: ModelT reads a frame with aligned SIMD loads.
        _x = (float*)NativeMemory.AlignedAlloc((nuint)((_in + 15) / 16 * 16 * sizeof(float)), 64);
        _y = (float*)NativeMemory.AlignedAlloc((nuint)((_out + 15) / 16 * 16 * sizeof(float)), 64);
        new Span<float>(_x, (_in + 15) / 16 * 16).Clear();
    }

    public string Name { get; }
    public Span<float> Input => new(_x, _in);
    public ReadOnlySpan<float> Output => new(_y, _out);

    public void Invoke() => _lib.Forward(_model, _x, _y);

    /// <summary><paramref name="samples"/> single-sample forwards in one native loop (the shared harness's timed loop):
    /// <paramref name="xs"/> [n, I] (64-byte aligned for I > 1, as ModelT wants), <paramref name="ys"/> [n, O].</summary>
    public void Process(ReadOnlySpan<float> xs, Span<float> ys, int samples)
    {
        if (xs.Length < samples * _in || ys.Length < samples * _out) throw new ArgumentException("buffers too short");
        fixed (float* x = xs, y = ys)
            _lib.Process(_model, x, y, samples);
    }

    public void ResetState() => _lib.Reset(_model);

    public void Dispose()
    {
        if (_model == 0) return;
        _lib.Free(_model);
        _model = 0;
        NativeMemory.AlignedFree(_x);
        NativeMemory.AlignedFree(_y);
    }
}
