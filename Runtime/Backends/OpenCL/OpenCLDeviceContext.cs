using System.Numerics;
using System.Reflection;
using System.Text;
using Silk.NET.OpenCL;

namespace RnnRuntime.Backends.OpenCL;

/// <summary>
/// The context and the built program of one device, shared by every model prepared for it and
/// released when the last of them is disposed. Building the program is the slow part of preparing a
/// model (a CPU driver such as PoCL compiles for seconds), so it happens once per device while any
/// model uses it. Thread-safe: the OpenCL calls it makes from several threads (clCreateKernel,
/// clCreateBuffer) are thread-safe by the specification.
/// </summary>
internal sealed unsafe class OpenCLDeviceContext
{
    /// <summary>Step kernels use at most this many work-items per group: enough for a GPU's SIMD width
    /// times a few units, small enough that the staged h and the reduction fit in local memory.</summary>
    private const int MaxStepWorkGroup = 128;

    /// <summary>Work-items that share one W_hh row at most (one warp/wavefront slice).</summary>
    internal const int MaxLanes = 32;

    private static readonly Dictionary<nint, OpenCLDeviceContext> s_live = [];
    private static readonly object s_lock = new();

    private int _references;

    public CL Api { get; }
    public OpenCLDeviceInfo Info { get; }
    public nint Context { get; private set; }
    public nint Program { get; private set; }
    /// <summary>Side of the input projection's square work-group (-DTILE).</summary>
    public int Tile { get; }
    /// <summary>Work-items per step-kernel group (a power of two), fixed per device so a driver that
    /// specializes kernels per local size (PoCL) compiles each once.</summary>
    public int StepWorkGroup { get; }
    /// <summary>Local memory a step kernel may use for the staged h and its reduction.</summary>
    public long StepLocalBytes { get; }
    /// <summary>Most work-items that share one W_hh row: the kernel's preferred work-group multiple
    /// (the SIMD width: a warp, a wavefront), capped at <see cref="MaxLanes"/>.</summary>
    public int LaneLimit { get; }

    private OpenCLDeviceContext(CL api, OpenCLDeviceInfo info)
    {
        Api = api;
        Info = info;
        Tile = info.MaxWorkGroupSize >= 256 ? 16 : info.MaxWorkGroupSize >= 64 ? 8 : 4;
        nint device = info.Device;
        int status;
        Context = OpenCLObjectCount.Created(api.CreateContext(null, 1, &device, null, null, &status));
        ClStatusNames.ThrowIfFailed(status, "clCreateContext");
        try
        {
            Program = Build(api, Context, device, Tile);
            (StepWorkGroup, StepLocalBytes, LaneLimit) = StepLimits(api, Program, device, info);
            foreach (string kernel in (ReadOnlySpan<string>)["input_projection", "input_projection_blocked"])
            {
                nuint tileWg = KernelWorkGroupSize(api, Program, device, kernel);
                if ((int)tileWg < Tile * Tile)
                    throw new RnnBackendUnavailableException($"OpenCL device '{info.Name}' runs {kernel} with at most {tileWg} work-items per group; {Tile * Tile} are needed");
            }
        }
        catch
        {
            if (Program != 0) ReleaseProgram(api, Program);
            ReleaseContext(api, Context);
            throw;
        }
    }

    /// <summary>The shared context of <paramref name="info"/>'s device; every call needs one <see cref="Release"/>.</summary>
    public static OpenCLDeviceContext Acquire(OpenCLDeviceInfo info)
    {
        lock (s_lock)
        {
            if (!s_live.TryGetValue(info.Device, out OpenCLDeviceContext? context))
            {
                context = new OpenCLDeviceContext(OpenCLDevices.Api, info);
                s_live.Add(info.Device, context);
            }
            context._references++;
            return context;
        }
    }

    public void Release()
    {
        lock (s_lock)
        {
            if (--_references > 0) return;
            s_live.Remove(Info.Device);
            ReleaseProgram(Api, Program);
            ReleaseContext(Api, Context);
            Program = 0;
            Context = 0;
        }
    }

    /// <summary>Number of devices whose context is alive (tests check that disposal releases it).</summary>
    internal static int LiveCount
    {
        get { lock (s_lock) return s_live.Count; }
    }

    private static void ReleaseProgram(CL api, nint program)
    {
        api.ReleaseProgram(program);
        OpenCLObjectCount.Released();
    }

    private static void ReleaseContext(CL api, nint context)
    {
        api.ReleaseContext(context);
        OpenCLObjectCount.Released();
    }

    /// <summary>Builds <paramref name="source"/> in a context of its own and releases both; for the
    /// test that a failing build reports its log.</summary>
    internal static void BuildForTest(OpenCLDeviceInfo info, string source)
    {
        CL api = OpenCLDevices.Api;
        nint device = info.Device;
        int status;
        nint context = OpenCLObjectCount.Created(api.CreateContext(null, 1, &device, null, null, &status));
        ClStatusNames.ThrowIfFailed(status, "clCreateContext");
        try
        {
            ReleaseProgram(api, Build(api, context, device, 4, source));
        }
        finally
        {
            ReleaseContext(api, context);
        }
    }

    private static nint Build(CL api, nint context, nint device, int tile, string? text = null)
    {
        byte[] source = Encoding.UTF8.GetBytes(text ?? KernelSource());
        int status;
        nint program;
        fixed (byte* s = source)
        {
            byte* strings = s;
            nuint length = (nuint)source.Length;
            program = OpenCLObjectCount.Created(api.CreateProgramWithSource(context, 1, &strings, &length, &status));
        }
        ClStatusNames.ThrowIfFailed(status, "clCreateProgramWithSource");
        byte[] options = Encoding.ASCII.GetBytes($"-DTILE={tile}\0");
        fixed (byte* o = options) status = api.BuildProgram(program, 1, &device, o, null, null);
        if (status != 0)
        {
            string log = BuildLog(api, program, device);
            ReleaseProgram(api, program);
            throw new OpenCLException("clBuildProgram", status, "the rnnrt kernels did not build; build log:\n" + log);
        }
        return program;
    }

    private static string BuildLog(CL api, nint program, nint device)
    {
        nuint size = 0;
        if (api.GetProgramBuildInfo(program, device, ProgramBuildInfo.BuildLog, 0, null, &size) != 0 || size == 0) return "(no build log)";
        var bytes = new byte[(int)size];
        fixed (byte* b = bytes)
            if (api.GetProgramBuildInfo(program, device, ProgramBuildInfo.BuildLog, size, b, null) != 0) return "(no build log)";
        return OpenCLDevices.Decode(bytes);
    }

    /// <summary>The kernel sources in cl/, embedded in this assembly, in build order.</summary>
    internal static string KernelSource()
    {
        var text = new StringBuilder();
        foreach (string name in (ReadOnlySpan<string>)["common.cl", "recurrent.cl", "input_projection.cl", "steps.cl", "elementwise.cl"])
        {
            using Stream stream = typeof(OpenCLDeviceContext).Assembly.GetManifestResourceStream("RnnRuntime.cl." + name)
                ?? throw new InvalidOperationException($"kernel source cl/{name} is not embedded in {typeof(OpenCLDeviceContext).Assembly.GetName().Name}");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            text.Append("#line 1 \"").Append(name).Append("\"\n").Append(reader.ReadToEnd()).Append('\n');
        }
        return text.ToString();
    }

    private static (int WorkGroup, long LocalBytes, int Lanes) StepLimits(CL api, nint program, nint device, OpenCLDeviceInfo info)
    {
        nuint limit = MaxStepWorkGroup, multiple = MaxLanes;
        long localBytes = info.LocalMemBytes;
        foreach (string kernel in (ReadOnlySpan<string>)["rnn_step", "gru_step", "lstm_step", "rnn_step4", "gru_step4", "lstm_step4", "input_projection_rows"])
        {
            limit = Math.Min(limit, KernelWorkGroupSize(api, program, device, kernel));
            multiple = Math.Min(multiple, KernelValue<nuint>(api, program, device, kernel, KernelWorkGroupInfo.PreferredWorkGroupSizeMultiple));
            localBytes = Math.Min(localBytes, info.LocalMemBytes - (long)KernelValue<ulong>(api, program, device, kernel, KernelWorkGroupInfo.LocalMemSize));
        }
        int wg = LargestPowerOfTwoAtMost((int)limit);
        int lanes = Math.Min(wg, LargestPowerOfTwoAtMost(Math.Max(1, (int)multiple)));
        return (wg, localBytes, lanes);
    }

    internal static int LargestPowerOfTwoAtMost(int value) => value < 1 ? 1 : 1 << BitOperations.Log2((uint)value);

    private static nuint KernelWorkGroupSize(CL api, nint program, nint device, string name) =>
        KernelValue<nuint>(api, program, device, name, KernelWorkGroupInfo.WorkGroupSize);

    private static T KernelValue<T>(CL api, nint program, nint device, string name, KernelWorkGroupInfo what) where T : unmanaged
    {
        int status;
        nint kernel = OpenCLObjectCount.Created(api.CreateKernel(program, name, &status));
        ClStatusNames.ThrowIfFailed(status, "clCreateKernel");
        try
        {
            T value = default;
            ClStatusNames.ThrowIfFailed(api.GetKernelWorkGroupInfo(kernel, device, what, (nuint)sizeof(T), &value, null), "clGetKernelWorkGroupInfo");
            return value;
        }
        finally
        {
            api.ReleaseKernel(kernel);
            OpenCLObjectCount.Released();
        }
    }
}
