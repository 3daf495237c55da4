using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace RnnRuntime.Backends.Cpu;

/// <summary>Work that a <see cref="CpuWorkerPool"/> runs in parts: part 0 on the calling thread, the others on workers.
/// Implemented by the prepared (shared, immutable) operations; the call's arguments are in the session's
/// <see cref="CpuState"/>, so dispatching allocates nothing.</summary>
internal interface ICpuPartJob
{
    /// <summary>Part <paramref name="part"/> of <paramref name="parts"/> of the call whose arguments are in <paramref name="s"/>.</summary>
    void RunPart(CpuState s, int part, int parts);
}

/// <summary>
/// One session's worker threads (n - 1 of them for Threads = n; the caller computes part 0). Made when
/// the session's state is made, never per call; stopped by the state's Dispose (which joins them) or
/// finalizer (which only signals them).
/// <para>
/// Dispatch takes no lock and allocates nothing: the caller stores the job and its state in two fields
/// and bumps one generation counter per participating worker (each on its own cache line, so a call
/// that needs only some workers wakes only those). Each part is claimed by one exchange, by its worker
/// or, once part 0 is done, by the caller, so a part runs exactly once, with the arguments of the call
/// in progress, even when its worker wakes late. A worker spins on its counter for
/// <see cref="SpinMicroseconds"/> after its last part, then sleeps on its own event; the caller sets
/// that event only when the worker said it sleeps (a flag exchanged on both sides, so no wake is lost
/// and no signal is left over). The caller waits for a pending count to reach zero, spinning and
/// yielding but never sleeping.
/// </para>
/// <para>
/// Between calls the pool holds no reference to the session's state (both job fields are cleared when
/// the call ends, and a worker reads them only inside <see cref="RunPart"/>), so a session nobody
/// disposed is still finalized, which stops the pool.
/// </para>
/// </summary>
internal sealed class CpuWorkerPool : IDisposable
{
    /// <summary>
    /// How long an idle worker spins before it sleeps: long enough to bridge the gap between the layers
    /// of one step (well under a microsecond) and between back-to-back calls of a program that does a
    /// few tens of microseconds of its own work per step, so those never pay an OS wake-up (tens of
    /// microseconds; BENCHMARKS.md, "Kernel notes"); short enough to be 1% of a 10 ms audio frame,
    /// so a session stepped at frame rate keeps its other cores nearly idle.
    /// </summary>
    public const int SpinMicroseconds = 100;

    private const int WorkerStackBytes = 256 * 1024;

    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Slot
    {
        /// <summary>Bumped by the caller once per call the worker takes part in (and once to stop).</summary>
        [FieldOffset(0)] public int Generation;
        /// <summary>1 while the worker is (about to be) blocked on its event; whoever exchanges it to 0 owns the wake-up.</summary>
        [FieldOffset(4)] public int Sleeping;
        /// <summary>The worker thread's allocation counter after its last part (tests read it).</summary>
        [FieldOffset(8)] public long AllocatedBytes;
        /// <summary>0 while this call's part for the worker is unclaimed; whoever exchanges it to 1 (the
        /// worker, or the caller once its own part is done) runs the part.</summary>
        [FieldOffset(16)] public int Claimed;
    }

    private readonly Slot[] _slots;
    private readonly AutoResetEvent[] _events;
    private readonly Thread[] _threads;
    private readonly long _spinTicks;
    private ICpuPartJob? _job;
    private CpuState? _state;
    private int _parts;
    private int _pending;
    private Exception? _error;
    private volatile bool _stopping;
    private int _alive;

    public CpuWorkerPool(int workers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        _slots = new Slot[workers];
        _events = new AutoResetEvent[workers];
        _threads = new Thread[workers];
        // More threads than cores: a spinning worker would only take the core from the one it waits for.
        _spinTicks = workers + 1 <= Environment.ProcessorCount ? Stopwatch.Frequency * SpinMicroseconds / 1_000_000 : 0;
        for (int i = 0; i < workers; i++) _events[i] = new AutoResetEvent(false);
        try
        {
            for (int i = 0; i < workers; i++)
            {
                _threads[i] = new Thread(WorkerLoop, WorkerStackBytes) { IsBackground = true, Name = $"rnnrt worker {i + 1}" };
                _threads[i].Start(i);
            }
        }
        catch
        {
            Stop();
            throw;
        }
    }

    /// <summary>Worker threads (the calling thread makes one more part).</summary>
    public int Workers => _threads.Length;

    /// <summary>Workers whose thread has not yet returned (0 once a Dispose has joined them).</summary>
    public int AliveWorkers => Volatile.Read(ref _alive);

    /// <summary>Calls that were split across workers (only the calling thread writes it; tests read it).</summary>
    public long Dispatches { get; private set; }

    /// <summary>What the worker threads have allocated in all, as of each one's last part.</summary>
    public long WorkerAllocatedBytes()
    {
        long sum = 0;
        for (int i = 0; i < _slots.Length; i++) sum += Volatile.Read(ref _slots[i].AllocatedBytes);
        return sum;
    }

    /// <summary>
    /// Runs parts 0..<paramref name="parts"/>-1 of <paramref name="job"/> on <paramref name="s"/>'s arguments:
    /// part 0 here, part i on worker i - 1; returns when all are done, rethrowing a worker's exception.
    /// <para>
    /// A part whose worker has not claimed it by the time part 0 is done runs here instead: a worker
    /// that had gone to sleep (a session called less often than every <see cref="SpinMicroseconds"/>)
    /// takes longer to wake than most parts take to run, so the call never waits for that.
    /// </para>
    /// </summary>
    public void Run(CpuState s, ICpuPartJob job, int parts)
    {
        Debug.Assert(parts >= 2 && parts <= _threads.Length + 1);
        Dispatches++;
        _job = job;
        _state = s;
        _parts = parts;
        Volatile.Write(ref _pending, parts - 1);
        // Released after the job fields: a worker that claims a part sees this call's arguments.
        for (int i = 0; i < parts - 1; i++) Volatile.Write(ref _slots[i].Claimed, 0);
        for (int i = 0; i < parts - 1; i++) Wake(i);
        try
        {
            job.RunPart(s, 0, parts);
        }
        catch
        {
            // Unclaimed parts are dropped (counted as done); claimed ones are waited for.
            for (int i = 0; i < parts - 1; i++)
                if (Interlocked.Exchange(ref _slots[i].Claimed, 1) == 0) Interlocked.Decrement(ref _pending);
            Join();
            _error = null;   // the caller's own exception wins; the workers' buffers are no longer in use
            throw;
        }
        for (int i = 0; i < parts - 1; i++)
        {
            if (Interlocked.Exchange(ref _slots[i].Claimed, 1) != 0) continue;
            try
            {
                job.RunPart(s, i + 1, parts);
            }
            catch (Exception stolen)
            {
                Interlocked.CompareExchange(ref _error, stolen, null);
            }
            Interlocked.Decrement(ref _pending);
        }
        Join();
        Exception? e = _error;
        if (e is not null)
        {
            _error = null;
            ExceptionDispatchInfo.Capture(e).Throw();
        }
    }

    private void Wake(int i)
    {
        Interlocked.Increment(ref _slots[i].Generation);   // a full fence: the job fields are visible first
        if (Interlocked.Exchange(ref _slots[i].Sleeping, 0) == 1) _events[i].Set();
    }

    /// <summary>Waits for every worker's part, then forgets the job and the state.</summary>
    private void Join()
    {
        SpinWait spin = default;
        while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
        _job = null;
        _state = null;
    }

    private void WorkerLoop(object? index)
    {
        int i = (int)index!;
        Interlocked.Increment(ref _alive);
        try
        {
            int seen = 0;
            while (true)
            {
                seen = WaitForWork(i, seen);
                if (_stopping) return;
                // The caller may have run this part itself (we woke late); then there is nothing to do.
                if (Interlocked.Exchange(ref _slots[i].Claimed, 1) != 0) continue;
                RunPart(i);
                Interlocked.Decrement(ref _pending);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _alive);
        }
    }

    /// <summary>A separate frame, so that no stack slot of the worker's loop holds the job or the state while it waits.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void RunPart(int i)
    {
        try
        {
            _job!.RunPart(_state!, i + 1, _parts);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
        }
        Volatile.Write(ref _slots[i].AllocatedBytes, GC.GetAllocatedBytesForCurrentThread());
    }

    /// <summary>Returns the worker's generation once it differs from <paramref name="seen"/>: spins, then blocks.</summary>
    private int WaitForWork(int i, int seen)
    {
        ref Slot slot = ref _slots[i];
        int g = Volatile.Read(ref slot.Generation);
        if (g != seen) return g;
        if (_spinTicks > 0)
        {
            long start = Stopwatch.GetTimestamp();
            do
            {
                Thread.SpinWait(8);
                g = Volatile.Read(ref slot.Generation);
                if (g != seen) return g;
            } while (Stopwatch.GetTimestamp() - start < _spinTicks);
        }
        while (true)
        {
            // Say we sleep, then look once more: the caller bumps the generation before it exchanges
            // the flag, so either we see the new generation here or the caller sees our 1 and sets the event.
            Interlocked.Exchange(ref slot.Sleeping, 1);
            g = Volatile.Read(ref slot.Generation);
            if (g != seen)
            {
                // Take the flag back; if the caller already took it, it has set (or is setting) the
                // event: consume that signal so it does not wake a later wait for nothing.
                if (Interlocked.Exchange(ref slot.Sleeping, 0) == 0) _events[i].WaitOne();
                return g;
            }
            _events[i].WaitOne();
            g = Volatile.Read(ref slot.Generation);
            if (g != seen) return g;
        }
    }

    /// <summary>Tells every worker to return; does not wait (the finalizer's path).</summary>
    public void Stop()
    {
        _stopping = true;
        for (int i = 0; i < _threads.Length; i++) Wake(i);
    }

    /// <summary>Stops the workers and joins them. Never called during a call (the session gates that).</summary>
    public void Dispose()
    {
        if (_stopping) return;
        Stop();
        foreach (Thread t in _threads)
            if (t is not null && t.IsAlive && t != Thread.CurrentThread) t.Join();
        foreach (AutoResetEvent e in _events) e.Dispose();
    }
}
