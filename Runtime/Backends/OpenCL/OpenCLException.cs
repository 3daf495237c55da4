namespace RnnRuntime.Backends.OpenCL;

/// <summary>The status codes of the OpenCL 1.2 API (cl.h), plus the ICD loader's "no platform".</summary>
public enum ClStatus
{
    /// <summary>CL_SUCCESS (0).</summary>
    Success = 0,
    /// <summary>CL_DEVICE_NOT_FOUND (-1).</summary>
    DeviceNotFound = -1,
    /// <summary>CL_DEVICE_NOT_AVAILABLE (-2).</summary>
    DeviceNotAvailable = -2,
    /// <summary>CL_COMPILER_NOT_AVAILABLE (-3).</summary>
    CompilerNotAvailable = -3,
    /// <summary>CL_MEM_OBJECT_ALLOCATION_FAILURE (-4).</summary>
    MemObjectAllocationFailure = -4,
    /// <summary>CL_OUT_OF_RESOURCES (-5).</summary>
    OutOfResources = -5,
    /// <summary>CL_OUT_OF_HOST_MEMORY (-6).</summary>
    OutOfHostMemory = -6,
    /// <summary>CL_PROFILING_INFO_NOT_AVAILABLE (-7).</summary>
    ProfilingInfoNotAvailable = -7,
    /// <summary>CL_MEM_COPY_OVERLAP (-8).</summary>
    MemCopyOverlap = -8,
    /// <summary>CL_IMAGE_FORMAT_MISMATCH (-9).</summary>
    ImageFormatMismatch = -9,
    /// <summary>CL_IMAGE_FORMAT_NOT_SUPPORTED (-10).</summary>
    ImageFormatNotSupported = -10,
    /// <summary>CL_BUILD_PROGRAM_FAILURE (-11).</summary>
    BuildProgramFailure = -11,
    /// <summary>CL_MAP_FAILURE (-12).</summary>
    MapFailure = -12,
    /// <summary>CL_MISALIGNED_SUB_BUFFER_OFFSET (-13).</summary>
    MisalignedSubBufferOffset = -13,
    /// <summary>CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST (-14).</summary>
    ExecStatusErrorForEventsInWaitList = -14,
    /// <summary>CL_COMPILE_PROGRAM_FAILURE (-15).</summary>
    CompileProgramFailure = -15,
    /// <summary>CL_LINKER_NOT_AVAILABLE (-16).</summary>
    LinkerNotAvailable = -16,
    /// <summary>CL_LINK_PROGRAM_FAILURE (-17).</summary>
    LinkProgramFailure = -17,
    /// <summary>CL_DEVICE_PARTITION_FAILED (-18).</summary>
    DevicePartitionFailed = -18,
    /// <summary>CL_KERNEL_ARG_INFO_NOT_AVAILABLE (-19).</summary>
    KernelArgInfoNotAvailable = -19,
    /// <summary>CL_INVALID_VALUE (-30).</summary>
    InvalidValue = -30,
    /// <summary>CL_INVALID_DEVICE_TYPE (-31).</summary>
    InvalidDeviceType = -31,
    /// <summary>CL_INVALID_PLATFORM (-32).</summary>
    InvalidPlatform = -32,
    /// <summary>CL_INVALID_DEVICE (-33).</summary>
    InvalidDevice = -33,
    /// <summary>CL_INVALID_CONTEXT (-34).</summary>
    InvalidContext = -34,
    /// <summary>CL_INVALID_QUEUE_PROPERTIES (-35).</summary>
    InvalidQueueProperties = -35,
    /// <summary>CL_INVALID_COMMAND_QUEUE (-36).</summary>
    InvalidCommandQueue = -36,
    /// <summary>CL_INVALID_HOST_PTR (-37).</summary>
    InvalidHostPtr = -37,
    /// <summary>CL_INVALID_MEM_OBJECT (-38).</summary>
    InvalidMemObject = -38,
    /// <summary>CL_INVALID_IMAGE_FORMAT_DESCRIPTOR (-39).</summary>
    InvalidImageFormatDescriptor = -39,
    /// <summary>CL_INVALID_IMAGE_SIZE (-40).</summary>
    InvalidImageSize = -40,
    /// <summary>CL_INVALID_SAMPLER (-41).</summary>
    InvalidSampler = -41,
    /// <summary>CL_INVALID_BINARY (-42).</summary>
    InvalidBinary = -42,
    /// <summary>CL_INVALID_BUILD_OPTIONS (-43).</summary>
    InvalidBuildOptions = -43,
    /// <summary>CL_INVALID_PROGRAM (-44).</summary>
    InvalidProgram = -44,
    /// <summary>CL_INVALID_PROGRAM_EXECUTABLE (-45).</summary>
    InvalidProgramExecutable = -45,
    /// <summary>CL_INVALID_KERNEL_NAME (-46).</summary>
    InvalidKernelName = -46,
    /// <summary>CL_INVALID_KERNEL_DEFINITION (-47).</summary>
    InvalidKernelDefinition = -47,
    /// <summary>CL_INVALID_KERNEL (-48).</summary>
    InvalidKernel = -48,
    /// <summary>CL_INVALID_ARG_INDEX (-49).</summary>
    InvalidArgIndex = -49,
    /// <summary>CL_INVALID_ARG_VALUE (-50).</summary>
    InvalidArgValue = -50,
    /// <summary>CL_INVALID_ARG_SIZE (-51).</summary>
    InvalidArgSize = -51,
    /// <summary>CL_INVALID_KERNEL_ARGS (-52).</summary>
    InvalidKernelArgs = -52,
    /// <summary>CL_INVALID_WORK_DIMENSION (-53).</summary>
    InvalidWorkDimension = -53,
    /// <summary>CL_INVALID_WORK_GROUP_SIZE (-54).</summary>
    InvalidWorkGroupSize = -54,
    /// <summary>CL_INVALID_WORK_ITEM_SIZE (-55).</summary>
    InvalidWorkItemSize = -55,
    /// <summary>CL_INVALID_GLOBAL_OFFSET (-56).</summary>
    InvalidGlobalOffset = -56,
    /// <summary>CL_INVALID_EVENT_WAIT_LIST (-57).</summary>
    InvalidEventWaitList = -57,
    /// <summary>CL_INVALID_EVENT (-58).</summary>
    InvalidEvent = -58,
    /// <summary>CL_INVALID_OPERATION (-59).</summary>
    InvalidOperation = -59,
    /// <summary>CL_INVALID_GLOBJECT (-60).</summary>
    InvalidGLObject = -60,
    /// <summary>CL_INVALID_BUFFER_SIZE (-61).</summary>
    InvalidBufferSize = -61,
    /// <summary>CL_INVALID_MIP_LEVEL (-62).</summary>
    InvalidMipLevel = -62,
    /// <summary>CL_INVALID_GLOBAL_WORK_SIZE (-63).</summary>
    InvalidGlobalWorkSize = -63,
    /// <summary>CL_INVALID_PROPERTY (-64).</summary>
    InvalidProperty = -64,
    /// <summary>CL_INVALID_IMAGE_DESCRIPTOR (-65).</summary>
    InvalidImageDescriptor = -65,
    /// <summary>CL_INVALID_COMPILER_OPTIONS (-66).</summary>
    InvalidCompilerOptions = -66,
    /// <summary>CL_INVALID_LINKER_OPTIONS (-67).</summary>
    InvalidLinkerOptions = -67,
    /// <summary>CL_INVALID_DEVICE_PARTITION_COUNT (-68).</summary>
    InvalidDevicePartitionCount = -68,
    /// <summary>CL_PLATFORM_NOT_FOUND_KHR (-1001).</summary>
    PlatformNotFoundKhr = -1001,
}

/// <summary>An OpenCL call that failed; the message names the call and the status as cl.h spells it.</summary>
public sealed class OpenCLException : Exception
{
    /// <summary>An OpenCL call that returned <paramref name="status"/>; <paramref name="detail"/> adds what was being done.</summary>
    public OpenCLException(string call, int status, string? detail = null)
        : base($"{call} failed: {ClStatusNames.Name(status)} ({status}){(detail is null ? "" : ": " + detail)}")
    {
        Call = call;
        Status = (ClStatus)status;
    }

    /// <summary>The OpenCL function that failed (clBuildProgram, clEnqueueNDRangeKernel, ...).</summary>
    public string Call { get; }
    /// <summary>Its status code.</summary>
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
