using Silk.NET.OpenCL;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.OpenCL;

/// <summary>
/// The read-only device buffers of one prepared network, created in order and released in reverse,
/// once. Shared by the prepared layers of one <see cref="OpenCLNetwork"/>.
/// </summary>
internal sealed unsafe class OpenCLWeights(OpenCLDeviceContext device)
{
    private readonly List<nint> _buffers = [];

    public nint Upload(ReadOnlySpan<float> data)
    {
        int status;
        nint buffer;
        fixed (float* p = data)
            buffer = device.Api.CreateBuffer(device.Context, data.IsEmpty ? MemFlags.ReadOnly : MemFlags.ReadOnly | MemFlags.CopyHostPtr,
                (nuint)(4L * Math.Max(1, data.Length)), data.IsEmpty ? null : p, &status);
        ClStatusNames.ThrowIfFailed(status, "clCreateBuffer");
        _buffers.Add(OpenCLObjectCount.Created(buffer));
        return buffer;
    }

    public void ReleaseAll()
    {
        for (int i = _buffers.Count - 1; i >= 0; i--)
        {
            device.Api.ReleaseMemObject(_buffers[i]);
            OpenCLObjectCount.Released();
        }
        _buffers.Clear();
    }
}

/// <summary>
/// A recurrent module uploaded to the device: per layer the stacked W_ih of its directions and the
/// biases folded into the input projection (as the cell's <see cref="CellSpec"/> allows), per layer
/// and direction W_hh (rows zero-padded to a multiple of 4 floats) and, for GRU, b_hn; for an LSTM
/// with a projection also W_hr transposed, (H, P), and W_hh's rows are P (padded) long.
/// </summary>
internal sealed class OpenCLRecurrentModule
{
    private readonly nint[] _weightIh;   // [L]: (D*G*H, I_l)
    private readonly nint[] _biasInput;  // [L]: (D*G*H)
    private readonly nint[] _weightHh;   // [L*D]: (G*H, Hp)
    private readonly nint[] _biasHn;     // [L*D]: (H), where a hidden bias stays inside a gate (GRU)
    private readonly nint[] _weightHr;   // [L*D]: W_hr^T (H, P), LSTM projection; empty without one

    public OpenCLRecurrentModule(RecurrentLayer layer, int module, OpenCLWeights weights, OpenCLDeviceContext device)
    {
        // Shapes only: the uploaded buffers are the copy the model runs (IRnnBackend.HoldsOwnWeights).
        Layer = layer.MapWeights((w, _) => w.WithoutValues(OpenCLBackend.BackendName));
        Module = module;
        int L = layer.NumLayers, D = layer.NumDirections, H = layer.HiddenSize, G = layer.Spec.Gates;
        PaddedHidden = (layer.HiddenWidth + 3) & ~3;
        // As many batch items per work-group as local memory allows (staged h + reduction), up to
        // the kernel's MAX_BBLOCK.
        MaxBatchBlock = StepLocalBytes(4, device) <= device.StepLocalBytes ? 4 : StepLocalBytes(1, device) <= device.StepLocalBytes ? 1 : 0;
        if (MaxBatchBlock == 0)
            throw new RnnBackendUnavailableException(
                $"hidden size {H} needs {StepLocalBytes(1, device)} bytes of local memory per work-group on OpenCL device '{device.Info.Name}', which offers {device.StepLocalBytes}");
        _weightIh = new nint[L];
        _biasInput = new nint[L];
        _weightHh = new nint[L * D];
        _biasHn = new nint[L * D];
        _weightHr = layer.ProjSize > 0 ? new nint[L * D] : [];
        bool insideBias = layer.Spec.InsideGateFrom < G;
        for (int l = 0; l < L; l++)
        {
            int inputWidth = layer.Weights(l, 0).InputSize;
            var wih = new float[D * G * H * inputWidth];
            var bias = new float[D * G * H];
            for (int dir = 0; dir < D; dir++)
            {
                LayerWeights w = layer.Weights(l, dir);
                w.WeightIhFlat.CopyTo(wih.AsSpan(dir * G * H * inputWidth));
                var hiddenSide = new float[G * H];
                layer.Spec.FoldBiases(w.BiasIh, w.BiasHh, H, bias.AsSpan(dir * G * H, G * H), hiddenSide);
                var whh = new float[G * H * PaddedHidden];
                for (int row = 0; row < G * H; row++)
                    w.WeightHh.GetRowSpan(row).CopyTo(whh.AsSpan(row * PaddedHidden));
                _weightHh[l * D + dir] = weights.Upload(whh);
                if (w.Hr is WeightTensor hr)
                {
                    // Transposed, so that the work-items of neighbouring p read neighbouring floats.
                    int P = hr.Rows;
                    var wt = new float[H * P];
                    ReadOnlySpan<float> src = hr.Float32Flat;
                    for (int p = 0; p < P; p++)
                        for (int j = 0; j < H; j++) wt[j * P + p] = src[p * H + j];
                    _weightHr[l * D + dir] = weights.Upload(wt);
                }
                // The step kernels take one inside-gate bias block: GRU's b_hn (gate n).
                if (insideBias) _biasHn[l * D + dir] = weights.Upload(hiddenSide.AsSpan(layer.Spec.InsideGateFrom * H, H));
            }
            _weightIh[l] = weights.Upload(wih);
            _biasInput[l] = weights.Upload(bias);
        }
    }

    public RecurrentLayer Layer { get; }

    /// <summary>Index among the network's recurrent modules (its state slot).</summary>
    public int Module { get; }

    /// <summary>h's width (H, or P with a projection) rounded up to a multiple of 4: the row stride of the uploaded W_hh.</summary>
    public int PaddedHidden { get; }

    /// <summary>Batch items per step work-group (the kernels come for 1 and 4) that fit h in local memory.</summary>
    public int MaxBatchBlock { get; }

    /// <summary>D*G*H: the width of one row of the input projection.</summary>
    public int ProjectionWidth => Layer.NumDirections * Layer.Spec.Gates * Layer.HiddenSize;

    /// <summary>Local memory of a step work-group: the staged h of each item, one float4 per work-item and item.</summary>
    public long StepLocalBytes(int batchBlock, OpenCLDeviceContext device) => 4L * batchBlock * PaddedHidden + 16L * batchBlock * device.StepWorkGroup;

    public nint WeightIh(int layer) => _weightIh[layer];
    public nint BiasInput(int layer) => _biasInput[layer];
    public nint WeightHh(int layer, int dir) => _weightHh[layer * Layer.NumDirections + dir];
    public nint BiasHn(int layer, int dir) => _biasHn[layer * Layer.NumDirections + dir];
    public nint WeightHr(int layer, int dir) => _weightHr[layer * Layer.NumDirections + dir];

    /// <summary>The step kernel for this cell that handles <paramref name="batchBlock"/> (1 or 4) items per work-group.</summary>
    public string StepKernelName(int batchBlock) => batchBlock == 1 ? Layer.Spec.StepKernel : Layer.Spec.StepKernel + "4";
}

/// <summary>nn.Linear on the device: W (out, in) as uploaded from the file and its bias; the product
/// is the input projection's kernel (the same c = a W^T + b).</summary>
internal sealed class OpenCLLinearLayer(LinearLayer layer, OpenCLWeights weights)
{
    public nint Weight { get; } = weights.Upload(layer.Weight.Float32Flat);
    public LinearLayer Layer { get; } = layer.MapWeights((w, _) => w.WithoutValues(OpenCLBackend.BackendName));
    public nint Bias { get; } = weights.Upload(layer.Bias);
}
