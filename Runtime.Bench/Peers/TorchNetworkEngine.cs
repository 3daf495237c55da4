#if PEERS
using RnnRuntime.Bench.Suite;
using RnnRuntime.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnRuntime.Bench.Peers;

/// <summary>
/// A whole network in LibTorch through TorchSharp, written as a PyTorch user's forward would be:
/// torch.nn.functional.linear for each linear layer, tensor tanh / relu / sigmoid, a torch.nn.GRU /
/// LSTM / RNN module per recurrent module (its weights copied in), and x added for add_input.
/// Gradients off, torch.set_num_threads(threads); each call passes the previous call's states back
/// in (no copy) and copies y out to managed memory, as <see cref="TorchEngine"/> does.
/// </summary>
public sealed class TorchNetworkEngine : IEngine
{
    private abstract record Op;
    private sealed record LinearOp(Tensor Weight, Tensor? Bias) : Op;
    private sealed record ActivationOp(LayerKind Kind) : Op;
    private sealed record RecurrentOp(nn.Module Module, RnnCellKind Cell, int Slot) : Op;

    private readonly List<Op> _ops = [];
    private readonly List<IDisposable> _owned = [];
    private readonly Tensor _x;
    private readonly Tensor[] _h, _c;
    private readonly float[] _y;
    private readonly int _threads;

    public TorchNetworkEngine(BenchNetwork n, ScenarioKind kind, int batch, int steps, int threads)
    {
        Name = $"torch-{threads}t";
        _threads = threads;
        torch.set_num_threads(threads);
        torch.set_grad_enabled(false);
        int T = kind == ScenarioKind.Step ? 1 : steps;
        using RnnModel model = n.Load(Engines.Reference);
        if (model.IsBidirectional) throw new NotSupportedException("a bidirectional module cannot stream");
        var h = new List<Tensor>();
        var c = new List<Tensor>();
        foreach (NetworkLayer layer in model.Layers)
        {
            switch (layer)
            {
                case LinearLayer l:
                {
                    Tensor w = Own(torch.tensor(l.Weight.Float32Flat.ToArray(), [l.Weight.Rows, l.Weight.Columns]));
                    Tensor? b = l.HasBias ? Own(torch.tensor(l.Bias.ToArray(), [l.OutputWidth])) : null;
                    _ops.Add(new LinearOp(w, b));
                    break;
                }
                case ElementwiseLayer e:
                    _ops.Add(new ActivationOp(e.Kind));
                    break;
                case RecurrentLayer r:
                {
                    nn.Module module = r.Cell switch
                    {
                        RnnCellKind.Rnn => nn.RNN(r.InputSize, r.HiddenSize, numLayers: r.NumLayers, bias: r.HasBias,
                            nonLinearity: r.Nonlinearity == RnnNonlinearity.Relu ? nn.NonLinearities.ReLU : nn.NonLinearities.Tanh),
                        RnnCellKind.Gru => nn.GRU(r.InputSize, r.HiddenSize, numLayers: r.NumLayers, bias: r.HasBias),
                        _ => nn.LSTM(r.InputSize, r.HiddenSize, numLayers: r.NumLayers, bias: r.HasBias),
                    };
                    module.eval();
                    _owned.Add(module);
                    var weights = new Dictionary<string, (float[] Data, long[] Shape)>();
                    for (int k = 0; k < r.NumLayers; k++)
                    {
                        LayerWeights lw = r.Weights(k, 0);
                        weights[$"weight_ih_l{k}"] = (lw.WeightIhFlat.ToArray(), [lw.Rows, lw.InputSize]);
                        weights[$"weight_hh_l{k}"] = (lw.WeightHhFlat.ToArray(), [lw.Rows, lw.HiddenSize]);
                        if (r.HasBias)
                        {
                            weights[$"bias_ih_l{k}"] = (lw.BiasIh.ToArray(), [lw.Rows]);
                            weights[$"bias_hh_l{k}"] = (lw.BiasHh.ToArray(), [lw.Rows]);
                        }
                    }
                    int copied = 0;
                    foreach (var (name, p) in module.named_parameters())
                    {
                        if (!weights.TryGetValue(name, out var w))
                            throw new InvalidOperationException($"unexpected TorchSharp parameter '{name}'");
                        using Tensor src = torch.tensor(w.Data, w.Shape);
                        p.copy_(src);
                        copied++;
                    }
                    if (copied != weights.Count)
                        throw new InvalidOperationException($"copied {copied} of {weights.Count} weight tensors into the TorchSharp module '{r.Name}'");
                    _ops.Add(new RecurrentOp(module, r.Cell, h.Count));
                    h.Add(torch.zeros(r.NumLayers, batch, r.HiddenSize));
                    c.Add(torch.zeros(r.NumLayers, batch, r.HiddenSize));
                    break;
                }
            }
        }
        _h = [.. h];
        _c = [.. c];
        _x = torch.zeros(T, batch, model.InputSize);
        _y = GC.AllocateArray<float>(T * batch * model.OutputSize, pinned: true);
    }

    private Tensor Own(Tensor t)
    {
        _owned.Add(t);
        return t;
    }

    public string Name { get; }
    public Span<float> Input => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(_x.bytes);
    public ReadOnlySpan<float> Output => _y;

    public void Invoke()
    {
        if (torch.is_grad_enabled()) torch.set_grad_enabled(false);
        using var scope = torch.NewDisposeScope();
        Tensor cur = _x;
        foreach (Op op in _ops)
        {
            switch (op)
            {
                case LinearOp l:
                    cur = nn.functional.linear(cur, l.Weight, l.Bias);
                    break;
                case ActivationOp a:
                    cur = a.Kind switch
                    {
                        LayerKind.Tanh => cur.tanh(),
                        LayerKind.Relu => cur.relu(),
                        LayerKind.Sigmoid => cur.sigmoid(),
                        _ => cur + _x,
                    };
                    break;
                case RecurrentOp r when r.Cell == RnnCellKind.Lstm:
                {
                    var (y, hn, cn) = ((nn.Module<Tensor, (Tensor, Tensor)?, (Tensor, Tensor, Tensor)>)r.Module).call(cur, (_h[r.Slot], _c[r.Slot]));
                    Replace(ref _h[r.Slot], hn);
                    Replace(ref _c[r.Slot], cn);
                    cur = y;
                    break;
                }
                case RecurrentOp r:
                {
                    var (y, hn) = ((nn.Module<Tensor, Tensor?, (Tensor, Tensor)>)r.Module).call(cur, _h[r.Slot]);
                    Replace(ref _h[r.Slot], hn);
                    cur = y;
                    break;
                }
            }
        }
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(cur.contiguous().bytes).CopyTo(_y);
    }

    private static void Replace(ref Tensor state, Tensor next)
    {
        Tensor old = state;
        state = next.MoveToOuterDisposeScope();
        old.Dispose();
    }

    public void ResetState()
    {
        torch.set_num_threads(_threads);
        foreach (Tensor t in _h) t.zero_();
        foreach (Tensor t in _c) t.zero_();
    }

    public void Dispose()
    {
        _x.Dispose();
        foreach (Tensor t in _h) t.Dispose();
        foreach (Tensor t in _c) t.Dispose();
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
    }
}
#endif
