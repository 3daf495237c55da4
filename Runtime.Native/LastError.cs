using System.Runtime.CompilerServices;
using System.Text;

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
        string text = $"{function}: {message}";
        int written = Encoding.UTF8.GetBytes(Truncate(text), buffer.AsSpan(0, Capacity - 1));
        buffer[written] = 0;
        return status;
    }

    /// <summary>At most Capacity-1 UTF-8 bytes, cut on a character boundary.</summary>
    private static string Truncate(string text)
    {
        if (Encoding.UTF8.GetByteCount(text) < Capacity) return text;
        const string ellipsis = "...";
        int chars = Math.Min(text.Length, Capacity - 1);
        while (chars > 0 && Encoding.UTF8.GetByteCount(text.AsSpan(0, chars)) + ellipsis.Length > Capacity - 1) chars -= 16;
        chars = Math.Max(chars, 0);
        if (chars > 0 && char.IsHighSurrogate(text[chars - 1])) chars--;
        return string.Concat(text.AsSpan(0, chars), ellipsis);
    }

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
        string message = status == NativeStatus.Internal ? $"internal error ({e.GetType().Name}): {e.Message}" : e.Message;
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
