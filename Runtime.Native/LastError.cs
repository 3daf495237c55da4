using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Unicode;

namespace RnnRuntime.Native;

/// <summary>
/// rnnrt_last_error(): each thread's last failure message as NUL-terminated UTF-8. The bytes live in
/// a per-thread array on the pinned object heap, so the pointer handed out stays valid (the GC never
/// moves it) until this thread's next failing call, and the array dies with the thread: nothing to
/// free, for the caller or for us.
/// </summary>
internal static unsafe class LastError
{
    private const int Capacity = 1024;

    [ThreadStatic] private static byte[]? t_buffer;

    /// <summary>What a thread that has not failed yet sees.</summary>
    public static byte* Get()
    {
        byte[]? buffer = t_buffer;
        if (buffer is null)
        {
            fixed (byte* empty = "\0"u8) return empty;   // RVA data in the image: never moves
        }
        return (byte*)Unsafe.AsPointer(ref buffer[0]);
    }

    public static NativeStatus Set(NativeStatus status, string function, string message)
    {
        byte[] buffer = t_buffer ??= GC.AllocateUninitializedArray<byte>(Capacity, pinned: true);
        // Whole characters only; a message too long for the buffer ends in "...".
        Span<byte> text = buffer.AsSpan(0, Capacity - 4);
        int written = 0;
        bool cut = Append(text, ref written, function) || Append(text, ref written, ": ") || Append(text, ref written, message);
        if (cut)
        {
            "..."u8.CopyTo(buffer.AsSpan(written));
            written += 3;
        }
        buffer[written] = 0;
        return status;
    }

    /// <summary>True when <paramref name="value"/> did not fit.</summary>
    private static bool Append(Span<byte> destination, ref int written, string value)
    {
        OperationStatus result = Utf8.FromUtf16(value, destination[written..], out _, out int bytes);
        written += bytes;
        return result != OperationStatus.Done;
    }

    /// <summary>
    /// The status for a failed rnnrt_model_load / rnnrt_model_load_memory. The exports check their own
    /// pointer arguments; past that the only input is the file, so an exception of the kinds the .NET
    /// readers throw for bad data (InvalidOperationException, ArgumentException, FormatException,
    /// OverflowException, JsonException), escaping where the loader should have thrown
    /// RnnModelException, still means "not a valid model": RNNRT_FORMAT, never RNNRT_INVALID_ARGUMENT
    /// (rnnrt.h lists that for NULL pointers only). Everything else maps as for any call.
    /// </summary>
    public static NativeStatus FromLoadException(string function, Exception e) => e switch
    {
        RnnShapeException or ObjectDisposedException => FromException(function, e),
        InvalidOperationException or ArgumentException or FormatException or OverflowException or System.Text.Json.JsonException
            => Report(NativeStatus.Format, function, $"the file is not a valid model ({e.GetType().Name}: {MessageOf(e)})"),
        _ => FromException(function, e),
    };

    /// <summary>The status a .NET exception stands for across the C boundary.</summary>
    public static NativeStatus FromException(string function, Exception e)
    {
        NativeStatus status = e switch
        {
            RnnModelException => NativeStatus.Format,
            RnnShapeException => NativeStatus.ShapeMismatch,
            RnnBackendUnavailableException => NativeStatus.BackendUnavailable,
            FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException => NativeStatus.Io,
            ObjectDisposedException => NativeStatus.InvalidHandle,
            ArgumentException or InvalidOperationException => NativeStatus.InvalidArgument,
            OutOfMemoryException or InsufficientExecutionStackException => NativeStatus.OutOfMemory,
            _ => NativeStatus.Internal,
        };
        return Report(status, function, status == NativeStatus.Internal ? $"internal error ({e.GetType().Name}): {e.Message}" : MessageOf(e));
    }

    /// <summary>
    /// An exception's message as C reads it. An ArgumentException's Message carries .NET's own
    /// decorations, " (Parameter 'batchSize')" and for one out of range a new line and "Actual value
    /// was 0.": both go (cut off by comparing with the same decorations on an empty message, so a
    /// translated runtime is cut right too), and an out-of-range value comes back in front, under the
    /// C argument's name: "batch is 0; ...".
    /// </summary>
    internal static string MessageOf(Exception e)
    {
        if (e is not ArgumentException a) return e.Message;
        string message = a.Message;
        object? actual = (a as ArgumentOutOfRangeException)?.ActualValue;
        if (actual is not null) message = WithoutSuffix(message, new ArgumentOutOfRangeException(null, actual, "").Message);
        if (!string.IsNullOrEmpty(a.ParamName)) message = WithoutSuffix(message, new ArgumentException("", a.ParamName).Message);
        if (actual is null) return message;
        string value = Convert.ToString(actual, CultureInfo.InvariantCulture) ?? "";
        return $"{CName(a.ParamName)} is {value}; {message}";
    }

    private static string WithoutSuffix(string message, string suffix) =>
        suffix.Length > 0 && message.EndsWith(suffix, StringComparison.Ordinal) ? message[..^suffix.Length] : message;

    /// <summary>The argument of rnnrt.h that a .NET parameter stands for, where the names differ.</summary>
    private static string CName(string? parameter) => parameter switch
    {
        "batchSize" => "batch",
        null or "" => "the value",
        _ => parameter,
    };

    private static NativeStatus Report(NativeStatus status, string function, string message)
    {
        try
        {
            return Set(status, function, message);
        }
        catch
        {
            // Not even the message could be made (out of memory): the status still gets through.
            return status;
        }
    }
}
