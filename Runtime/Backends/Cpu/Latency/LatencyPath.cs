using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu.Latency;

/// <summary>
/// Which layers the latency kernels run: float32 layers whose weights (one layer and direction of a
/// module, or a linear layer) are at most <see cref="DefaultMaxWeightBytes"/>, so they stay in the
/// core's L1/L2 from one step to the next and the time is the arithmetic's, not the bytes'. Larger
/// layers are bandwidth-bound and go to the packed panel products, which also serve bfloat16, int8 and
/// several threads (a latency layer runs on the calling thread: it is too small to share). The bound is measured (BENCHMARKS.md, "Latency path").
/// </summary>
internal static class LatencyPath
{
    public const long DefaultMaxWeightBytes = 512 * 1024;

    /// <summary>The most batch rows a session may have for its small layers to stay on the latency
    /// kernels; a larger batch runs them on the panel products, which read each weight once for all rows.</summary>
    public const int MaxBatch = 4;

    /// <summary>Whether <paramref name="layer"/> runs on the latency kernels under <paramref name="maxBytes"/>.</summary>
    public static bool Takes(NetworkLayer layer, long maxBytes) => layer switch
    {
        LinearLayer l => l.Weight.ElementType == WeightElementType.Float32 && l.Weight.Bytes <= maxBytes,
        // A network's weights share one format (RnnNetwork.WithWeightFormat), so its first matrix says it.
        RecurrentLayer r => r.Weights(0, 0).Ih.ElementType == WeightElementType.Float32 && PerCellBytes(r) <= maxBytes,
        _ => false,
    };

    /// <summary>The largest weight bytes of one layer and direction: what one cell step reads.</summary>
    public static long PerCellBytes(RecurrentLayer r)
    {
        long most = 0;
        for (int l = 0; l < r.NumLayers; l++)
            for (int d = 0; d < r.NumDirections; d++)
            {
                LayerWeights w = r.Weights(l, d);
                most = Math.Max(most, w.Ih.Bytes + w.Hh.Bytes + (w.Hr?.Bytes ?? 0));
            }
        return most;
    }
}

/// <summary>A step on the latency kernels.</summary>
internal interface ILatencyStep;

/// <summary>A latency-path linear layer: its weights can be had back for the panel products of a batched plan.</summary>
internal interface ILatencyLinear : ILatencyStep
{
    LinearLayer WithWeights(LinearLayer shapes);
}

/// <summary>A latency-path recurrent layer: its weights can be had back for the panel products of a batched plan.</summary>
internal interface ILatencyRecurrent : ILatencyStep
{
    LayerWeights Weights(int direction, LayerWeights shapes);
}
