namespace RnnRuntime.Backends.OpenCL;

/// <summary>The status codes of the OpenCL 1.2 API (cl.h), plus the ICD loader's "no platform".</summary>
public enum ClStatus
{
    Success = 0,
    DeviceNotFound = -1,
    DeviceNotAvailable = -2,
    CompilerNotAvailable = -3,
    MemObjectAllocationFailure = -4,
    OutOfResources = -5,
    OutOfHostMemory = -6,
    ProfilingInfoNotAvailable = -7,
    MemCopyOverlap = -8,
    ImageFormatMismatch = -9,
    ImageFormatNotSupported = -10,
    BuildProgramFailure = -11,
    MapFailure = -12,
    MisalignedSubBufferOffset = -13,
    ExecStatusErrorForEventsInWaitList = -14,
    CompileProgramFailure = -15,
    LinkerNotAvailable = -16,
    LinkProgramFailure = -17,
    DevicePartitionFailed = -18,
    KernelArgInfoNotAvailable = -19,
    InvalidValue = -30,
    InvalidDeviceType = -31,
    InvalidPlatform = -32,
    InvalidDevice = -33,
    InvalidContext = -34,
    InvalidQueueProperties = -35,
    InvalidCommandQueue = -36,
    InvalidHostPtr = -37,
    InvalidMemObject = -38,
    InvalidImageFormatDescriptor = -39,
    InvalidImageSize = -40,
    InvalidSampler = -41,
    InvalidBinary = -42,
    InvalidBuildOptions = -43,
    InvalidProgram = -44,
    InvalidProgramExecutable = -45,
    InvalidKernelName = -46,
    InvalidKernelDefinition = -47,
    InvalidKernel = -48,
    InvalidArgIndex = -49,
    InvalidArgValue = -50,
    InvalidArgSize = -51,
    InvalidKernelArgs = -52,
    InvalidWorkDimension = -53,
    InvalidWorkGroupSize = -54,
    InvalidWorkItemSize = -55,
    InvalidGlobalOffset = -56,
    InvalidEventWaitList = -57,
    InvalidEvent = -58,
    InvalidOperation = -59,
    InvalidGLObject = -60,
    InvalidBufferSize = -61,
    InvalidMipLevel = -62,
    InvalidGlobalWorkSize = -63,
    InvalidProperty = -64,
    InvalidImageDescriptor = -65,
    InvalidCompilerOptions = -66,
    InvalidLinkerOptions = -67,
    InvalidDevicePartitionCount = -68,
    PlatformNotFoundKhr = -1001,
}

/// <summary>An OpenCL call that failed; the message names the call and the status as cl.h spells it.</summary>
public sealed class OpenCLException : Exception
{
    public OpenCLException(string call, int status, string? detail = null)
        : base($"{call} failed: {ClStatusNames.Name(status)} ({status}){(detail is null ? "" : ": " + detail)}")
    {
        Call = call;
        Status = (ClStatus)status;
    }

    public string Call { get; }
    public ClStatus Status { get; }
}

internal static class ClStatusNames
{
    /// <summary>The cl.h name of a status ("CL_OUT_OF_RESOURCES"), or "unknown OpenCL status".</summary>
    public static string Name(int status) => (ClStatus)status switch
    {
        ClStatus.Success => "CL_SUCCESS",
        ClStatus.DeviceNotFound => "CL_DEVICE_NOT_FOUND",
        ClStatus.DeviceNotAvailable => "CL_DEVICE_NOT_AVAILABLE",
        ClStatus.CompilerNotAvailable => "CL_COMPILER_NOT_AVAILABLE",
        ClStatus.MemObjectAllocationFailure => "CL_MEM_OBJECT_ALLOCATION_FAILURE",
        ClStatus.OutOfResources => "CL_OUT_OF_RESOURCES",
        ClStatus.OutOfHostMemory => "CL_OUT_OF_HOST_MEMORY",
        ClStatus.ProfilingInfoNotAvailable => "CL_PROFILING_INFO_NOT_AVAILABLE",
        ClStatus.MemCopyOverlap => "CL_MEM_COPY_OVERLAP",
        ClStatus.ImageFormatMismatch => "CL_IMAGE_FORMAT_MISMATCH",
        ClStatus.ImageFormatNotSupported => "CL_IMAGE_FORMAT_NOT_SUPPORTED",
        ClStatus.BuildProgramFailure => "CL_BUILD_PROGRAM_FAILURE",
        ClStatus.MapFailure => "CL_MAP_FAILURE",
        ClStatus.MisalignedSubBufferOffset => "CL_MISALIGNED_SUB_BUFFER_OFFSET",
        ClStatus.ExecStatusErrorForEventsInWaitList => "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
        ClStatus.CompileProgramFailure => "CL_COMPILE_PROGRAM_FAILURE",
        ClStatus.LinkerNotAvailable => "CL_LINKER_NOT_AVAILABLE",
        ClStatus.LinkProgramFailure => "CL_LINK_PROGRAM_FAILURE",
        ClStatus.DevicePartitionFailed => "CL_DEVICE_PARTITION_FAILED",
        ClStatus.KernelArgInfoNotAvailable => "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
        ClStatus.InvalidValue => "CL_INVALID_VALUE",
        ClStatus.InvalidDeviceType => "CL_INVALID_DEVICE_TYPE",
        ClStatus.InvalidPlatform => "CL_INVALID_PLATFORM",
        ClStatus.InvalidDevice => "CL_INVALID_DEVICE",
        ClStatus.InvalidContext => "CL_INVALID_CONTEXT",
        ClStatus.InvalidQueueProperties => "CL_INVALID_QUEUE_PROPERTIES",
        ClStatus.InvalidCommandQueue => "CL_INVALID_COMMAND_QUEUE",
        ClStatus.InvalidHostPtr => "CL_INVALID_HOST_PTR",
        ClStatus.InvalidMemObject => "CL_INVALID_MEM_OBJECT",
        ClStatus.InvalidImageFormatDescriptor => "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
        ClStatus.InvalidImageSize => "CL_INVALID_IMAGE_SIZE",
        ClStatus.InvalidSampler => "CL_INVALID_SAMPLER",
        ClStatus.InvalidBinary => "CL_INVALID_BINARY",
        ClStatus.InvalidBuildOptions => "CL_INVALID_BUILD_OPTIONS",
        ClStatus.InvalidProgram => "CL_INVALID_PROGRAM",
        ClStatus.InvalidProgramExecutable => "CL_INVALID_PROGRAM_EXECUTABLE",
        ClStatus.InvalidKernelName => "CL_INVALID_KERNEL_NAME",
        ClStatus.InvalidKernelDefinition => "CL_INVALID_KERNEL_DEFINITION",
        ClStatus.InvalidKernel => "CL_INVALID_KERNEL",
        ClStatus.InvalidArgIndex => "CL_INVALID_ARG_INDEX",
        ClStatus.InvalidArgValue => "CL_INVALID_ARG_VALUE",
        ClStatus.InvalidArgSize => "CL_INVALID_ARG_SIZE",
        ClStatus.InvalidKernelArgs => "CL_INVALID_KERNEL_ARGS",
        ClStatus.InvalidWorkDimension => "CL_INVALID_WORK_DIMENSION",
        ClStatus.InvalidWorkGroupSize => "CL_INVALID_WORK_GROUP_SIZE",
        ClStatus.InvalidWorkItemSize => "CL_INVALID_WORK_ITEM_SIZE",
        ClStatus.InvalidGlobalOffset => "CL_INVALID_GLOBAL_OFFSET",
        ClStatus.InvalidEventWaitList => "CL_INVALID_EVENT_WAIT_LIST",
        ClStatus.InvalidEvent => "CL_INVALID_EVENT",
        ClStatus.InvalidOperation => "CL_INVALID_OPERATION",
        ClStatus.InvalidGLObject => "CL_INVALID_GL_OBJECT",
        ClStatus.InvalidBufferSize => "CL_INVALID_BUFFER_SIZE",
        ClStatus.InvalidMipLevel => "CL_INVALID_MIP_LEVEL",
        ClStatus.InvalidGlobalWorkSize => "CL_INVALID_GLOBAL_WORK_SIZE",
        ClStatus.InvalidProperty => "CL_INVALID_PROPERTY",
        ClStatus.InvalidImageDescriptor => "CL_INVALID_IMAGE_DESCRIPTOR",
        ClStatus.InvalidCompilerOptions => "CL_INVALID_COMPILER_OPTIONS",
        ClStatus.InvalidLinkerOptions => "CL_INVALID_LINKER_OPTIONS",
        ClStatus.InvalidDevicePartitionCount => "CL_INVALID_DEVICE_PARTITION_COUNT",
        ClStatus.PlatformNotFoundKhr => "CL_PLATFORM_NOT_FOUND_KHR",
        _ => "unknown OpenCL status",
    };

    /// <summary>Throws <see cref="OpenCLException"/> unless <paramref name="status"/> is CL_SUCCESS.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfFailed(int status, string call)
    {
        if (status != 0) Throw(status, call);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Throw(int status, string call) => throw new OpenCLException(call, status);
}
