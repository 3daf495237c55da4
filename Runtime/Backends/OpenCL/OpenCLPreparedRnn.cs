using Silk.NET.OpenCL;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.OpenCL;

/// <summary>
/// A model uploaded to one OpenCL device: per layer the stacked W_ih of its directions and the
/// biases folded into the input projection, per layer and direction W_hh (rows zero-padded to a
/// multiple of 4 floats) and, for GRU, b_hn. Immutable after construction and shared by all
/// sessions; everything mutable (queue, kernels with their arguments, h/c, scratch) lives in
/// <see cref="OpenCLState"/>.
/// </summary>
internal sealed unsafe class OpenCLPreparedRnn : IPreparedRnn
{
    private readonly RnnModel _model;
    private readonly OpenCLDeviceContext _device;
    private readonly nint[] _weightIh;   // [L]: (D*G*H, I_l)
    private readonly nint[] _biasInput;  // [L]: (D*G*H) = b_ih + b_hh, but b_ih only for GRU's n rows
    private readonly nint[] _weightHh;   // [L*D]: (G*H, Hp)
    private readonly nint[] _biasHn;     // [L*D]: (H), GRU only
    private int _disposed;

    public OpenCLPreparedRnn(RnnModel model, OpenCLDeviceInfo device)
    {
        _model = model;
        int L = model.NumLayers, D = model.NumDirections, H = model.HiddenSize, G = model.Cell.GateCount();
        PaddedHidden = (H + 3) & ~3;
        _weightIh = new nint[L];
        _biasInput = new nint[L];
        _weightHh = new nint[L * D];
        _biasHn = new nint[L * D];
        _device = OpenCLDeviceContext.Acquire(device);
        try
        {
            // As many batch items per work-group as local memory allows (staged h + reduction), up to
            // the kernel's MAX_BBLOCK.
            MaxBatchBlock = StepLocalBytes(4) <= _device.StepLocalBytes ? 4 : StepLocalBytes(1) <= _device.StepLocalBytes ? 1 : 0;
            if (MaxBatchBlock == 0)
                throw new RnnBackendUnavailableException(
                    $"hidden size {H} needs {StepLocalBytes(1)} bytes of local memory per work-group on OpenCL device '{device.Name}', which offers {_device.StepLocalBytes}");
            for (int layer = 0; layer < L; layer++)
            {
                int inputWidth = model.Weights(layer, 0).InputSize;
                var wih = new float[D * G * H * inputWidth];
                var bias = new float[D * G * H];
                for (int dir = 0; dir < D; dir++)
                {
                    LayerWeights w = model.Weights(layer, dir);
                    w.WeightIhFlat.CopyTo(wih.AsSpan(dir * G * H * inputWidth));
                    Span<float> b = bias.AsSpan(dir * G * H, G * H);
                    for (int row = 0; row < G * H; row++)
                    {
                        bool hiddenBiasStaysInside = model.Cell == RnnCellKind.Gru && row >= 2 * H;
                        b[row] = w.BiasIh[row] + (hiddenBiasStaysInside ? 0f : w.BiasHh[row]);
                    }

                    var whh = new float[G * H * PaddedHidden];
                    for (int row = 0; row < G * H; row++)
                        w.WeightHh.GetRowSpan(row).CopyTo(whh.AsSpan(row * PaddedHidden));
                    _weightHh[layer * D + dir] = Upload(whh);
                    if (model.Cell == RnnCellKind.Gru) _biasHn[layer * D + dir] = Upload(w.BiasHh.Slice(2 * H, H));
                }
                _weightIh[layer] = Upload(wih);
                _biasInput[layer] = Upload(bias);
            }
        }
        catch
        {
            ReleaseAll();
            throw;
        }
    }

    public RnnModel Model => _model;
    public OpenCLDeviceContext Device => _device;
    public CL Api => _device.Api;
    /// <summary>H rounded up to a multiple of 4: the row stride of the uploaded W_hh.</summary>
    public int PaddedHidden { get; }
    /// <summary>Batch items per step work-group (the kernels come for 1 and 4) that fit this model's h
    /// in local memory.</summary>
    public int MaxBatchBlock { get; }

    /// <summary>Local memory of a step work-group: the staged h of each item, one float4 per work-item and item.</summary>
    public long StepLocalBytes(int batchBlock) => 4L * batchBlock * PaddedHidden + 16L * batchBlock * _device.StepWorkGroup;

    public nint WeightIh(int layer) => _weightIh[layer];
    public nint BiasInput(int layer) => _biasInput[layer];
    public nint WeightHh(int layer, int dir) => _weightHh[layer * _model.NumDirections + dir];
    public nint BiasHn(int layer, int dir) => _biasHn[layer * _model.NumDirections + dir];

    /// <summary>The step kernel for this cell that handles <paramref name="batchBlock"/> (1 or 4) items per work-group.</summary>
    public string StepKernelName(int batchBlock) => (_model.Cell, batchBlock) switch
    {
        (RnnCellKind.Rnn, 1) => "rnn_step",
        (RnnCellKind.Rnn, _) => "rnn_step4",
        (RnnCellKind.Gru, 1) => "gru_step",
        (RnnCellKind.Gru, _) => "gru_step4",
        (_, 1) => "lstm_step",
        _ => "lstm_step4",
    };

    public RnnState CreateState(int batchSize)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return new OpenCLState(this, batchSize);
    }

    public void Step(RnnState state, ReadOnlySpan<float> x, Span<float> y) => ((OpenCLState)state).Step(x, y);

    public void Run(RnnState state, ReadOnlySpan<float> xs, int steps, Span<float> ys) => ((OpenCLState)state).Run(xs, steps, ys);

    private nint Upload(ReadOnlySpan<float> data)
    {
        int status;
        nint buffer;
        fixed (float* p = data)
            buffer = Api.CreateBuffer(_device.Context, data.IsEmpty ? MemFlags.ReadOnly : MemFlags.ReadOnly | MemFlags.CopyHostPtr, (nuint)(4L * Math.Max(1, data.Length)), data.IsEmpty ? null : p, &status);
        ClStatusNames.ThrowIfFailed(status, "clCreateBuffer");
        return OpenCLObjectCount.Created(buffer);
    }

    private void ReleaseAll()
    {
        // Reverse order of creation; each handle is zeroed once released so nothing is released twice.
        for (int i = _weightIh.Length - 1; i >= 0; i--)
        {
            Release(ref _biasInput[i]);
            Release(ref _weightIh[i]);
        }
        for (int i = _weightHh.Length - 1; i >= 0; i--)
        {
            Release(ref _biasHn[i]);
            Release(ref _weightHh[i]);
        }
        _device.Release();
    }

    private void Release(ref nint buffer)
    {
        if (buffer == 0) return;
        Api.ReleaseMemObject(buffer);
        OpenCLObjectCount.Released();
        buffer = 0;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        ReleaseAll();
    }
}
