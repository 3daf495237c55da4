using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RnnRuntime.Model;

namespace RnnRuntime.Native;

/// <summary>
/// The C API of include/rnnrt.h, one export per .NET call. Every body catches everything: an exception
/// that crossed into C would kill the host process. Failures become a status and a message for
/// rnnrt_last_error(); handles are looked up in <see cref="HandleTable"/>, never dereferenced.
/// </summary>
internal static unsafe class Exports
{
    // RnnrtVersion is generated from Directory.Build.props; the build checks RNNRT_VERSION_* in
    // include/rnnrt.h against the same number, and the C tests compare rnnrt_version() with them.
    [UnmanagedCallersOnly(EntryPoint = "rnnrt_version")]
    public static uint Version() => (uint)(RnnrtVersion.Major << 16 | RnnrtVersion.Minor << 8 | RnnrtVersion.Patch);

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_last_error")]
    public static byte* LastErrorMessage() => LastError.Get();

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_status_string")]
    public static byte* StatusString(int status) => StatusName((NativeStatus)status);

    /// <summary>
    /// The enumerator's name as a NUL-terminated static string (UTF-8 literals live in the image's
    /// read-only data, so the pointer stays valid for the life of the process). The loader has the
    /// same table in C, so that the name is there even when no build can be loaded.
    /// </summary>
    internal static byte* StatusName(NativeStatus status)
    {
        ReadOnlySpan<byte> name = status switch
        {
            NativeStatus.Ok => "RNNRT_OK\0"u8,
            NativeStatus.InvalidArgument => "RNNRT_INVALID_ARGUMENT\0"u8,
            NativeStatus.ShapeMismatch => "RNNRT_SHAPE_MISMATCH\0"u8,
            NativeStatus.Io => "RNNRT_IO\0"u8,
            NativeStatus.Format => "RNNRT_FORMAT\0"u8,
            NativeStatus.BackendUnavailable => "RNNRT_BACKEND_UNAVAILABLE\0"u8,
            NativeStatus.InvalidHandle => "RNNRT_INVALID_HANDLE\0"u8,
            NativeStatus.OutOfMemory => "RNNRT_OUT_OF_MEMORY\0"u8,
            NativeStatus.Internal => "RNNRT_INTERNAL\0"u8,
            _ => "RNNRT_UNKNOWN_STATUS\0"u8,
        };
        return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(name));
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_model_load")]
    public static int ModelLoad(byte* path, byte* backend, nint* model)
    {
        const string F = "rnnrt_model_load";
        try
        {
            return LoadFile(F, path, Options(backend), model);
        }
        catch (Exception e)
        {
            return (int)LastError.FromLoadException(F, e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_model_load_memory")]
    public static int ModelLoadMemory(byte* data, nuint length, byte* backend, nint* model)
    {
        const string F = "rnnrt_model_load_memory";
        try
        {
            return LoadMemory(F, data, length, Options(backend), model);
        }
        catch (Exception e)
        {
            return (int)LastError.FromLoadException(F, e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_model_load_ex")]
    public static int ModelLoadEx(byte* path, NativeLoadOptions* options, nint* model)
    {
        const string F = "rnnrt_model_load_ex";
        try
        {
            if (model == null) return Fail(NativeStatus.InvalidArgument, F, "out is NULL; pass the address of an rnnrt_model* to receive the model");
            *model = 0;
            return Options(F, options, out RnnOptions? o) is int failed ? failed : LoadFile(F, path, o!, model);
        }
        catch (Exception e)
        {
            return (int)LastError.FromLoadException(F, e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_model_load_memory_ex")]
    public static int ModelLoadMemoryEx(byte* data, nuint length, NativeLoadOptions* options, nint* model)
    {
        const string F = "rnnrt_model_load_memory_ex";
        try
        {
            if (model == null) return Fail(NativeStatus.InvalidArgument, F, "out is NULL; pass the address of an rnnrt_model* to receive the model");
            *model = 0;
            return Options(F, options, out RnnOptions? o) is int failed ? failed : LoadMemory(F, data, length, o!, model);
        }
        catch (Exception e)
        {
            return (int)LastError.FromLoadException(F, e);
        }
    }

    private static int LoadFile(string function, byte* path, RnnOptions options, nint* model)
    {
        if (model == null) return Fail(NativeStatus.InvalidArgument, function, "out is NULL; pass the address of an rnnrt_model* to receive the model");
        *model = 0;
        if (path == null) return Fail(NativeStatus.InvalidArgument, function, "path is NULL");
        string file = Marshal.PtrToStringUTF8((nint)path)!;
        if (file.Length == 0) return Fail(NativeStatus.InvalidArgument, function, "path is empty");
        return Publish(RnnModel.Load(file, options), model);
    }

    private static int LoadMemory(string function, byte* data, nuint length, RnnOptions options, nint* model)
    {
        if (model == null) return Fail(NativeStatus.InvalidArgument, function, "out is NULL; pass the address of an rnnrt_model* to receive the model");
        *model = 0;
        if (data == null) return Fail(NativeStatus.InvalidArgument, function, "data is NULL");
        if (length > (nuint)RnnModel.MaxFileBytes)
            return Fail(NativeStatus.Format, function, $"len is {length} bytes; models up to {RnnModel.MaxFileBytes} bytes are supported");
        return Publish(RnnModel.Load(new ReadOnlySpan<byte>(data, (int)length), options), model);
    }

    /// <summary>RNNRT_THREADS_PER_CORE: rnnrt_load_options.threads for one thread per core.</summary>
    internal const int ThreadsPerCore = -1;

    /// <summary>struct rnnrt_load_options as RnnOptions; null when it is valid, else the failed status (message set).</summary>
    private static int? Options(string function, NativeLoadOptions* native, out RnnOptions? options)
    {
        options = RnnOptions.Default;
        if (native == null) return null;
        if (native->StructSize < (uint)NativeLoadOptions.FirstVersionSize)
        {
            options = null;
            return Fail(NativeStatus.InvalidArgument, function,
                $"options->struct_size is {native->StructSize}; set it to sizeof(struct rnnrt_load_options) ({sizeof(NativeLoadOptions)} in this version)");
        }
        string? layersError = null;
        string[]? layers = null;
        if (native->Layers == null && native->LayerCount != 0) layersError = $"options->layers is NULL but layer_count is {native->LayerCount}";
        else if (native->LayerCount > 1024) layersError = $"options->layer_count is {native->LayerCount}; at most 1024 layers are supported";
        else if (native->Layers != null)
        {
            if (native->LayerCount == 0) layersError = "options->layers is set but layer_count is 0";
            else
            {
                layers = new string[(int)native->LayerCount];
                for (int i = 0; i < layers.Length && layersError is null; i++)
                {
                    if (native->Layers[i] == null) layersError = $"options->layers[{i}] is NULL";
                    else layers[i] = Marshal.PtrToStringUTF8((nint)native->Layers[i])!;
                }
            }
        }
        if (layersError is not null)
        {
            options = null;
            return Fail(NativeStatus.InvalidArgument, function, layersError);
        }
        // Fields past the first version only where the caller's struct has them.
        RnnNonlinearity? nonlinearity = null;
        if (Has(native, (nint*)&native->Nonlinearity) && native->Nonlinearity != null)
        {
            string n = Marshal.PtrToStringUTF8((nint)native->Nonlinearity)!;
            nonlinearity = n switch
            {
                "tanh" => RnnNonlinearity.Tanh,
                "relu" => RnnNonlinearity.Relu,
                _ => null,
            };
            if (nonlinearity is null)
            {
                options = null;
                return Fail(NativeStatus.InvalidArgument, function, $"options->nonlinearity is '{n}'; expected \"tanh\", \"relu\" or NULL");
            }
        }
        int threads = 1;
        RnnWeightFormat format = RnnWeightFormat.Float32;
        if (Has(native, &native->Threads))
        {
            int t = native->Threads;
            if (t < ThreadsPerCore || t > RnnOptions.MaxThreads)
            {
                options = null;
                return Fail(NativeStatus.InvalidArgument, function, $"options->threads is {t}; expected 0 (the default: 1), RNNRT_THREADS_PER_CORE (-1) or 1..{RnnOptions.MaxThreads}");
            }
            threads = t switch { 0 => 1, ThreadsPerCore => 0, _ => t };
        }
        if (Has(native, &native->WeightFormat))
        {
            int f = native->WeightFormat;
            if (f < 0 || f > (int)RnnWeightFormat.Int8)
            {
                options = null;
                return Fail(NativeStatus.InvalidArgument, function, $"options->weight_format is {f}; expected RNNRT_WEIGHTS_FLOAT32 (0), RNNRT_WEIGHTS_BFLOAT16 (1) or RNNRT_WEIGHTS_INT8 (2)");
            }
            format = (RnnWeightFormat)f;
        }
        options = new RnnOptions
        {
            Backend = native->Backend == null ? "auto" : Marshal.PtrToStringUTF8((nint)native->Backend)!,
            Prefix = native->Prefix == null ? null : Marshal.PtrToStringUTF8((nint)native->Prefix),
            Device = native->Device == null ? null : Marshal.PtrToStringUTF8((nint)native->Device),
            Layers = layers,
            Nonlinearity = nonlinearity,
            Threads = threads,
            WeightFormat = format,
        };
        return null;
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_model_info")]
    public static int ModelInfo(nint model, NativeModelInfo* info)
    {
        const string F = "rnnrt_model_info";
        try
        {
            if (InfoCall(F, model, info == null ? null : &info->StructSize, "rnnrt_model_info", NativeModelInfo.FirstVersionSize,
                    sizeof(NativeModelInfo), out RnnModel r) is int failed)
                return failed;
            info->Cell = (int)r.Cell;
            info->Nonlinearity = (int)r.Nonlinearity;
            info->InputSize = r.InputSize;
            info->HiddenSize = r.HiddenSize;
            info->NumLayers = r.NumLayers;
            info->NumDirections = r.NumDirections;
            info->OutputSize = r.OutputSize;
            info->HasBias = r.HasBias ? 1 : 0;
            info->StateSize = r.StateLength(1);
            CopyName(r.Backend, new Span<byte>(info->Backend, NativeModelInfo.BackendChars));
            // Fields past the first version only where the caller's struct has room for them.
            if (Has(info, &info->LayerCount)) info->LayerCount = r.Layers.Count;
            if (Has(info, &info->Threads)) info->Threads = r.Threads;
            if (Has(info, &info->WeightFormat)) info->WeightFormat = (int)r.WeightFormat;
            if (Has(info, &info->WeightBytes)) info->WeightBytes = r.WeightBytes;
            return 0;
        }
        catch (Exception e)
        {
            return (int)LastError.FromException(F, e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_model_layer_info")]
    public static int ModelLayerInfo(nint model, int index, NativeLayerInfo* info)
    {
        const string F = "rnnrt_model_layer_info";
        try
        {
            if (InfoCall(F, model, info == null ? null : &info->StructSize, "rnnrt_layer_info", NativeLayerInfo.FirstVersionSize,
                    sizeof(NativeLayerInfo), out RnnModel r) is int failed)
                return failed;
            IReadOnlyList<NetworkLayer> layers = r.Layers;
            if ((uint)index >= (uint)layers.Count)
                return Fail(NativeStatus.InvalidArgument, F, $"index is {index}; expected 0..{layers.Count - 1} (the model has {layers.Count} layers)");
            NetworkLayer layer = layers[index];
            RecurrentLayer? rec = layer as RecurrentLayer;
            info->Kind = (int)(layer.Kind switch
            {
                LayerKind.Linear => NativeLayerKind.Linear,
                LayerKind.Recurrent => NativeLayerKind.Recurrent,
                LayerKind.Tanh => NativeLayerKind.Tanh,
                LayerKind.Relu => NativeLayerKind.Relu,
                LayerKind.Sigmoid => NativeLayerKind.Sigmoid,
                LayerKind.AddInput => NativeLayerKind.AddInput,
                _ => throw new InvalidOperationException($"layer kind {layer.Kind} has no RNNRT_LAYER_ value"),
            });
            info->InputSize = layer.InputWidth;
            info->OutputSize = layer.OutputWidth;
            info->Cell = rec is null ? 0 : (int)rec.Cell;
            info->Nonlinearity = rec is null ? 0 : (int)rec.Nonlinearity;
            info->HiddenSize = rec?.HiddenSize ?? 0;
            info->NumLayers = rec?.NumLayers ?? 0;
            info->NumDirections = rec?.NumDirections ?? 0;
            info->ProjSize = rec?.ProjSize ?? 0;
            info->HasBias = layer switch { RecurrentLayer rl => rl.HasBias ? 1 : 0, LinearLayer l => l.HasBias ? 1 : 0, _ => 0 };
            info->StateSize = rec is null ? 0 : checked((int)rec.StateFloatsPerItem);
            CopyName(layer.IsElementwise ? layer.KindName : layer.Name, new Span<byte>(info->Name, NativeLayerInfo.NameChars));
            return 0;
        }
        catch (Exception e)
        {
            return (int)LastError.FromException(F, e);
        }
    }

    /// <summary>
    /// What rnnrt_model_info and rnnrt_model_layer_info check first: a live model, and an out struct
    /// (its struct_size at <paramref name="structSize"/>) at least as long as the struct's first
    /// version. Null when both hold, else the failed status with its message set.
    /// </summary>
    private static int? InfoCall(string function, nint model, uint* structSize, string structName, int firstVersionSize, int size,
        out RnnModel target)
    {
        target = null!;
        if (HandleTable.Find(model, HandleKind.Model, "model", out string? error) is not NativeModel m || m.HandleFreed)
            return Fail(NativeStatus.InvalidHandle, function, error ?? FreedDuringCall(model));
        if (structSize == null) return Fail(NativeStatus.InvalidArgument, function, "out is NULL");
        if (*structSize < (uint)firstVersionSize)
            return Fail(NativeStatus.InvalidArgument, function,
                $"out->struct_size is {*structSize}; set it to sizeof(struct {structName}) ({size} in this version) before the call");
        target = m.Model;
        return null;
    }

    /// <summary>UTF-8, NUL-terminated, cut on a whole character so that it fits.</summary>
    private static void CopyName(string name, Span<byte> destination)
    {
        destination.Clear();
        System.Text.Unicode.Utf8.FromUtf16(name, destination[..^1], out _, out _, replaceInvalidSequences: true, isFinalBlock: true);
    }

    /// <summary>
    /// Whether a caller's struct is long enough to hold <paramref name="field"/>: every struct of
    /// rnnrt.h begins with its struct_size, and the field's end comes from the real layout.
    /// </summary>
    private static bool Has<TStruct, TField>(TStruct* s, TField* field) where TStruct : unmanaged where TField : unmanaged =>
        *(uint*)s >= (ulong)((byte*)(field + 1) - (byte*)s);

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_model_free")]
    public static void ModelFree(nint model)
    {
        const string F = "rnnrt_model_free";
        try
        {
            if (model == 0) return;
            if (HandleTable.Remove(model, HandleKind.Model, "model", out string? error) is not NativeModel m)
            {
                Fail(NativeStatus.InvalidHandle, F, error!);
                return;
            }
            m.FreeHandle();
        }
        catch (Exception e)
        {
            LastError.FromException(F, e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_session_create")]
    public static int SessionCreate(nint model, int batch, nint* session)
    {
        const string F = "rnnrt_session_create";
        try
        {
            if (session == null) return Fail(NativeStatus.InvalidArgument, F, "out is NULL; pass the address of an rnnrt_session* to receive the session");
            *session = 0;
            if (HandleTable.Find(model, HandleKind.Model, "model", out string? error) is not NativeModel m || m.HandleFreed)
                return Fail(NativeStatus.InvalidHandle, F, error ?? FreedDuringCall(model));
            if (batch < 1 || batch > RnnModel.MaxBatchSize)
                return Fail(NativeStatus.InvalidArgument, F, $"batch is {batch}; expected 1..{RnnModel.MaxBatchSize}");
            if (!m.TryAddReference())
                return Fail(NativeStatus.InvalidHandle, F, FreedDuringCall(model));
            RnnSession? created = null;
            try
            {
                created = m.Model.CreateSession(batch);
                *session = HandleTable.Add(HandleKind.Session, new NativeSession(m, created));
                return 0;
            }
            catch
            {
                created?.Dispose();
                m.Release();
                throw;
            }
        }
        catch (Exception e)
        {
            return (int)LastError.FromException(F, e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_session_step")]
    public static int SessionStep(nint session, float* x, nuint xLength, float* y, nuint yLength) =>
        OnSession(session, "rnnrt_session_step", new StepCall(x, xLength, y, yLength));

    private readonly struct StepCall(float* x, nuint xLength, float* y, nuint yLength) : ISessionCall
    {
        public int Invoke(NativeSession s, string f)
        {
            if (x == null && xLength != 0) return Fail(NativeStatus.InvalidArgument, f, "x is NULL");
            if (y == null && yLength != 0) return Fail(NativeStatus.InvalidArgument, f, "y is NULL");
            if (xLength > int.MaxValue || yLength > int.MaxValue)
                return Fail(NativeStatus.ShapeMismatch, f, $"x_len {xLength} / y_len {yLength}: expected {s.Session.InputLength} / {s.Session.OutputLength} floats");
            s.Session.Step(new ReadOnlySpan<float>(x, (int)xLength), new Span<float>(y, (int)yLength));
            return 0;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_session_run")]
    public static int SessionRun(nint session, float* xs, nuint steps, float* ys, nuint ysLength) =>
        OnSession(session, "rnnrt_session_run", new RunCall(xs, steps, ys, ysLength));

    private readonly struct RunCall(float* xs, nuint steps, float* ys, nuint ysLength) : ISessionCall
    {
        public int Invoke(NativeSession s, string f)
        {
            // xs has no length argument: it is [steps, B, I] by contract.
            ulong xsLength = (ulong)steps * (ulong)s.Session.InputLength;
            if (steps > int.MaxValue || xsLength > int.MaxValue)
                return Fail(NativeStatus.InvalidArgument, f, $"steps is {steps}; a run of more than {int.MaxValue} input floats is not supported, split it into several runs");
            if (xs == null && xsLength != 0) return Fail(NativeStatus.InvalidArgument, f, "xs is NULL");
            if (ys == null && ysLength != 0) return Fail(NativeStatus.InvalidArgument, f, "ys is NULL");
            if (ysLength > int.MaxValue)
                return Fail(NativeStatus.ShapeMismatch, f, $"ys_len is {ysLength}; expected {(ulong)steps * (ulong)s.Session.OutputLength} floats ({steps} steps x batch {s.Session.BatchSize} x {s.Session.Model.OutputSize} outputs)");
            s.Session.Run(new ReadOnlySpan<float>(xs, (int)xsLength), (int)steps, new Span<float>(ys, (int)ysLength));
            return 0;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_session_reset")]
    public static int SessionReset(nint session) => OnSession(session, "rnnrt_session_reset", new ResetCall());

    private readonly struct ResetCall : ISessionCall
    {
        public int Invoke(NativeSession s, string f)
        {
            s.Session.Reset();
            return 0;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_session_get_state")]
    public static int SessionGetState(nint session, float* state, nuint length) =>
        OnSession(session, "rnnrt_session_get_state", new StateCall(state, length, write: false));

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_session_set_state")]
    public static int SessionSetState(nint session, float* state, nuint length) =>
        OnSession(session, "rnnrt_session_set_state", new StateCall(state, length, write: true));

    private readonly struct StateCall(float* state, nuint length, bool write) : ISessionCall
    {
        public int Invoke(NativeSession s, string f)
        {
            if (state == null && length != 0) return Fail(NativeStatus.InvalidArgument, f, "state is NULL");
            if (length > int.MaxValue) return StateLengthMismatch(f, s, length);
            if (write) s.Session.SetState(new ReadOnlySpan<float>(state, (int)length));
            else s.Session.GetState(new Span<float>(state, (int)length));
            return 0;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_session_step_active")]
    public static int SessionStepActive(nint session, int* active, nuint activeCount, float* x, nuint xLength, float* y, nuint yLength) =>
        OnSession(session, "rnnrt_session_step_active", new StepActiveCall(active, activeCount, x, xLength, y, yLength));

    private readonly struct StepActiveCall(int* active, nuint activeCount, float* x, nuint xLength, float* y, nuint yLength) : ISessionCall
    {
        public int Invoke(NativeSession s, string f)
        {
            if (active == null && activeCount != 0) return Fail(NativeStatus.InvalidArgument, f, "active is NULL");
            if (activeCount > (nuint)s.Session.BatchSize)
                return Fail(NativeStatus.InvalidArgument, f, $"active_count is {activeCount}; expected 0..{s.Session.BatchSize} distinct slots");
            if (x == null && xLength != 0) return Fail(NativeStatus.InvalidArgument, f, "x is NULL");
            if (y == null && yLength != 0) return Fail(NativeStatus.InvalidArgument, f, "y is NULL");
            if (xLength > int.MaxValue || yLength > int.MaxValue)
                return Fail(NativeStatus.ShapeMismatch, f, $"x_len {xLength} / y_len {yLength}: expected {activeCount} active slots x {s.Session.Model.InputSize} / {s.Session.Model.OutputSize} floats");
            s.Session.Step(new ReadOnlySpan<float>(x, (int)xLength), new Span<float>(y, (int)yLength), new ReadOnlySpan<int>(active, (int)activeCount));
            return 0;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_session_reset_slot")]
    public static int SessionResetSlot(nint session, int slot) =>
        OnSession(session, "rnnrt_session_reset_slot", new ResetSlotCall(slot));

    private readonly struct ResetSlotCall(int slot) : ISessionCall
    {
        public int Invoke(NativeSession s, string f)
        {
            if ((uint)slot >= (uint)s.Session.BatchSize)
                return Fail(NativeStatus.InvalidArgument, f, $"slot is {slot}; expected 0..{s.Session.BatchSize - 1}");
            s.Session.Reset(slot);
            return 0;
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_session_get_state_slot")]
    public static int SessionGetStateSlot(nint session, int slot, float* state, nuint length) =>
        OnSession(session, "rnnrt_session_get_state_slot", new SlotStateCall(slot, state, length, write: false));

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_session_set_state_slot")]
    public static int SessionSetStateSlot(nint session, int slot, float* state, nuint length) =>
        OnSession(session, "rnnrt_session_set_state_slot", new SlotStateCall(slot, state, length, write: true));

    private readonly struct SlotStateCall(int slot, float* state, nuint length, bool write) : ISessionCall
    {
        public int Invoke(NativeSession s, string f)
        {
            if ((uint)slot >= (uint)s.Session.BatchSize)
                return Fail(NativeStatus.InvalidArgument, f, $"slot is {slot}; expected 0..{s.Session.BatchSize - 1}");
            if (state == null && length != 0) return Fail(NativeStatus.InvalidArgument, f, "state is NULL");
            if (length != (nuint)s.Session.SlotStateLength)
                return Fail(NativeStatus.ShapeMismatch, f, $"len is {length}; expected {s.Session.SlotStateLength} floats (one slot's state)");
            if (write) s.Session.SetState(slot, new ReadOnlySpan<float>(state, (int)length));
            else s.Session.GetState(slot, new Span<float>(state, (int)length));
            return 0;
        }
    }

    /// <summary>What one session export does once its handle is found and the session entered.</summary>
    private interface ISessionCall
    {
        int Invoke(NativeSession s, string function);
    }

    /// <summary>
    /// The protocol every session export follows: find the handle (never dereference it), enter the
    /// session (one thread at a time), run the call, leave, and turn any exception into a status.
    /// Generic over a struct so the call is inlined and nothing is allocated.
    /// </summary>
    private static int OnSession<TCall>(nint session, string function, TCall call) where TCall : struct, ISessionCall
    {
        try
        {
            if (HandleTable.Find(session, HandleKind.Session, "session", out string? error) is not NativeSession s)
                return Fail(NativeStatus.InvalidHandle, function, error!);
            if (!s.TryEnter()) return Busy(function, session, s);
            try
            {
                return call.Invoke(s, function);
            }
            finally
            {
                s.Exit();
            }
        }
        catch (Exception e)
        {
            return (int)LastError.FromException(function, e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rnnrt_session_free")]
    public static void SessionFree(nint session)
    {
        const string F = "rnnrt_session_free";
        try
        {
            if (session == 0) return;
            if (HandleTable.Remove(session, HandleKind.Session, "session", out string? error) is not NativeSession s)
            {
                Fail(NativeStatus.InvalidHandle, F, error!);
                return;
            }
            s.Free();
        }
        catch (Exception e)
        {
            LastError.FromException(F, e);
        }
    }

    private static int Publish(RnnModel model, nint* handle)
    {
        try
        {
            *handle = HandleTable.Add(HandleKind.Model, new NativeModel(model));
            return 0;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static string FreedDuringCall(nint model) => $"model 0x{(ulong)model:x} was freed by another thread during this call";

    private static RnnOptions Options(byte* backend) =>
        backend == null ? RnnOptions.Default : new RnnOptions { Backend = Marshal.PtrToStringUTF8((nint)backend)! };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Fail(NativeStatus status, string function, string message) => (int)LastError.Set(status, function, message);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Busy(string function, nint handle, NativeSession s) => s.IsFreed
        ? Fail(NativeStatus.InvalidHandle, function, $"session 0x{(ulong)handle:x} was freed by another thread during this call")
        : Fail(NativeStatus.InvalidArgument, function, "the session is in use by another thread right now; a session belongs to one thread at a time");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int StateLengthMismatch(string function, NativeSession s, nuint length) =>
        Fail(NativeStatus.ShapeMismatch, function, $"len is {length}; expected {s.Session.StateLength} floats");
}
