namespace RnnRuntime.Tests.Support;

/// <summary>
/// The zero-allocation tests run alone: GC.GetAllocatedBytesForCurrentThread was seen to move by a
/// few KiB within a window of calls while other test classes loaded types and JITted code on their
/// threads, never when the measuring class ran by itself.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ZeroAllocationCollection
{
    public const string Name = "ZeroAllocation";
}
