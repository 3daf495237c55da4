#if PEERS
using RnnRuntime.Bench.Suite;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnRuntime.Bench.Peers;

/// <summary>
/// LibTorch through TorchSharp: the weights copied into torch.nn.RNN / GRU / LSTM, gradients off,
/// torch.set_num_threads(threads). A step passes the previous call's h_n tensor back in (no copy)
/// and copies y out to managed memory, as a caller that wants the values must.
/// </summary>
public sealed unsafe class TorchEngine : IEngine
{
    private readonly nn.Module _module;
    private readonly RnnCellKind _cell;
    private readonly Tensor _x;
    private Tensor _h, _c;
    private readonly float[] _y;
    private readonly int _threads;

    public TorchEngine(BenchModel m, ScenarioKind kind, int batch, int steps, int threads)
    {
        Name = $"torch-{threads}t";
        _threads = threads;
        torch.set_num_threads(threads);
        torch.set_grad_enabled(false);
        _cell = m.Cell;
        int T = kind == ScenarioKind.Step ? 1 : steps;
        _module = m.Cell switch
        {
            RnnCellKind.Rnn => nn.RNN(m.Input, m.Hidden, numLayers: 1, nonLinearity: nn.NonLinearities.Tanh),
            RnnCellKind.Gru => nn.GRU(m.Input, m.Hidden, numLayers: 1),
            _ => nn.LSTM(m.Input, m.Hidden, numLayers: 1),
        };
        _module.eval();
        var weights = new Dictionary<string, (float[] Data, long[] Shape)>
        {
            ["weight_ih_l0"] = (m.WeightIh, [m.Rows, m.Input]),
            ["weight_hh_l0"] = (m.WeightHh, [m.Rows, m.Hidden]),
            ["bias_ih_l0"] = (m.BiasIh, [m.Rows]),
            ["bias_hh_l0"] = (m.BiasHh, [m.Rows]),
        };
        int copied = 0;
        foreach (var (name, p) in _module.named_parameters())
        {
            if (!weights.TryGetValue(name, out var w))
                throw new InvalidOperationException($"unexpected TorchSharp parameter '{name}'");
            using Tensor src = torch.tensor(w.Data, w.Shape);
            p.copy_(src);
            copied++;
        }
        if (copied != 4) throw new InvalidOperationException($"copied {copied} of 4 weight tensors into the TorchSharp module");

        _x = torch.zeros(T, batch, m.Input);
        _h = torch.zeros(1, batch, m.Hidden);
        _c = torch.zeros(1, batch, m.Hidden);
        _y = GC.AllocateArray<float>(T * batch * m.Hidden, pinned: true);
    }

    public string Name { get; }
    public Span<float> Input => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(_x.bytes);
    public ReadOnlySpan<float> Output => _y;

    public void Invoke()
    {
        // Grad mode and the thread count are per thread / global: keep them as this engine wants.
        if (torch.is_grad_enabled()) torch.set_grad_enabled(false);
        using var scope = torch.NewDisposeScope();
        Tensor y;
        switch (_cell)
        {
            case RnnCellKind.Lstm:
                var (yl, hl, cl) = ((nn.Module<Tensor, (Tensor, Tensor)?, (Tensor, Tensor, Tensor)>)_module).call(_x, (_h, _c));
                y = yl;
                Replace(ref _h, hl);
                Replace(ref _c, cl);
                break;
            default:
                var (yg, hg) = ((nn.Module<Tensor, Tensor?, (Tensor, Tensor)>)_module).call(_x, _h);
                y = yg;
                Replace(ref _h, hg);
                break;
        }
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(y.bytes).CopyTo(_y);
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
        _h.zero_();
        _c.zero_();
    }

    public void Dispose()
    {
        _x.Dispose();
        _h.Dispose();
        _c.Dispose();
        _module.Dispose();
    }
}
#endif
