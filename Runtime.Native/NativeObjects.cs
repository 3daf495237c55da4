namespace RnnRuntime.Native;

/// <summary>
/// A model as C holds it. rnnrt_model_free takes the handle out of the table at once, but the model
/// itself lives until its last session is freed too: one reference for the handle, one per session.
/// So freeing a model before its sessions is allowed and the sessions keep working.
/// </summary>
internal sealed class NativeModel(RnnModel model)
{
    public readonly RnnModel Model = model;
    private int _references = 1;
    private int _handleFreed;

    /// <summary>Set by rnnrt_model_free: a lookup that raced the free (an old copy of the table) still refuses.</summary>
    public bool HandleFreed => Volatile.Read(ref _handleFreed) != 0;

    public void FreeHandle()
    {
        if (Interlocked.Exchange(ref _handleFreed, 1) == 0) Release();
    }

    /// <summary>False once the last reference is gone (a free racing a create on another thread).</summary>
    public bool TryAddReference()
    {
        int seen = Volatile.Read(ref _references);
        while (seen > 0)
        {
            int was = Interlocked.CompareExchange(ref _references, seen + 1, seen);
            if (was == seen) return true;
            seen = was;
        }
        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0) Model.Dispose();
    }
}

/// <summary>
/// A session as C holds it. A session belongs to one thread at a time; the busy flag turns a second
/// thread's concurrent call into an error instead of a torn state, and lets a free wait for a call
/// still running elsewhere before the state memory goes back to the pool.
/// </summary>
internal sealed class NativeSession(NativeModel owner, RnnSession session)
{
    public readonly NativeModel Owner = owner;
    public readonly RnnSession Session = session;
    private int _busy;
    private int _freed;

    public bool TryEnter() => Interlocked.CompareExchange(ref _busy, 1, 0) == 0;

    /// <summary>Set once a free has begun: a call refused entry then reports a freed handle, not a busy one.</summary>
    public bool IsFreed => Volatile.Read(ref _freed) != 0;

    public void Exit() => Volatile.Write(ref _busy, 0);

    /// <summary>Called once the handle is out of the table, so no new call can enter.</summary>
    public void Free()
    {
        Volatile.Write(ref _freed, 1);
        var spin = new SpinWait();
        while (!TryEnter()) spin.SpinOnce();
        Session.Dispose();
        Owner.Release();
    }
}
