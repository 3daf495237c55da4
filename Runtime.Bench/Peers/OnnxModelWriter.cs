using System.Runtime.InteropServices;
using System.Text;
using RnnRuntime.Bench.Suite;
using RnnRuntime.Model;

namespace RnnRuntime.Bench.Peers;

/// <summary>
/// Writes the suite's models and networks as ONNX files, so ONNX Runtime runs the same weights with no
/// Python at bench time. A recurrent module becomes the RNN / GRU / LSTM operator: PyTorch's gate order
/// becomes ONNX's (GRU r,z,n -> z,r,h with linear_before_reset = 1, which is PyTorch's formula; LSTM
/// i,f,g,o -> i,o,f,c), and B = concat(W_b, R_b). A network's other layers become MatMul + Add (linear,
/// W stored transposed), Tanh, Relu, Sigmoid and Add (add_input) nodes around them. Shapes are fixed
/// (T, B, I), as a user who knows them would export.
/// </summary>
public static class OnnxModelWriter
{
    /// <summary>Inputs X [T, B, I], initial_h [1, B, H] (LSTM: initial_c); outputs Y [T, 1, B, H] when
    /// <paramref name="withY"/>, Y_h [1, B, H] (LSTM: Y_c).</summary>
    public static byte[] Write(BenchModel m, int steps, int batch, bool withY)
    {
        bool lstm = m.Cell == RnnCellKind.Lstm;
        string op = OpName(m.Cell);
        var graph = new Proto();
        AddRecurrent(graph, "rnn", "", m.Cell, m.Hidden, m.Input, m.WeightIh, m.WeightHh, m.BiasIh, m.BiasHh,
            x: "X", hIn: "initial_h", cIn: lstm ? "initial_c" : null, y: withY ? "Y" : "", hOut: "Y_h", cOut: lstm ? "Y_c" : null);
        graph.String(2, $"{op.ToLowerInvariant()}_h{m.Hidden}");
        graph.Message(11, ValueInfo("X", [steps, batch, m.Input]));
        graph.Message(11, ValueInfo("initial_h", [1, batch, m.Hidden]));
        if (lstm) graph.Message(11, ValueInfo("initial_c", [1, batch, m.Hidden]));
        if (withY) graph.Message(12, ValueInfo("Y", [steps, 1, batch, m.Hidden]));
        graph.Message(12, ValueInfo("Y_h", [1, batch, m.Hidden]));
        if (lstm) graph.Message(12, ValueInfo("Y_c", [1, batch, m.Hidden]));
        return Model(graph);
    }

    /// <summary>A recurrent state the ONNX graph takes in and gives back: ONNX Runtime's caller carries it between calls.</summary>
    public readonly record struct StateIo(string Input, string Output, long[] Shape);

    /// <summary>The graph's names: X [T, B, I] in, <see cref="Output"/> [T, B, O] out, and one state pair per recurrent layer (h, and c for an LSTM).</summary>
    public sealed record NetworkSignature(string Input, string Output, long[] InputShape, long[] OutputShape, IReadOnlyList<StateIo> States);

    /// <summary>
    /// The whole network of <paramref name="model"/> (its layers in order, as rnnrt loaded them) for
    /// T = <paramref name="steps"/>, batch <paramref name="batch"/>. Each recurrent layer takes its
    /// state as graph inputs h{k}_in (c{k}_in) and gives it back as outputs h{k}_out (c{k}_out).
    /// </summary>
    public static (byte[] Onnx, NetworkSignature Signature) WriteNetwork(RnnModel model, int steps, int batch)
    {
        if (model.IsBidirectional)
            throw new NotSupportedException("a bidirectional module cannot stream: the network scenarios are unidirectional");
        var graph = new Proto();
        var states = new List<StateIo>();
        string x = "X", current = x;
        int width = model.InputSize, n = 0;
        bool squeezeAxes = false;
        string Next() => $"t{n++}";

        foreach (NetworkLayer layer in model.Layers)
        {
            string name = $"layer{layer.Index}";
            switch (layer)
            {
                case LinearLayer linear:
                {
                    int rows = linear.Weight.Rows, cols = linear.Weight.Columns;
                    ReadOnlySpan<float> w = linear.Weight.Float32Flat;
                    var wt = new float[cols * rows];                 // W (out, in) -> W^T (in, out) for MatMul
                    for (int r = 0; r < rows; r++)
                        for (int c = 0; c < cols; c++) wt[c * rows + r] = w[r * cols + c];
                    graph.Message(5, Tensor(name + ".weight_t", [cols, rows], wt));
                    string product = Next();
                    graph.Message(1, Node("MatMul", name + ".matmul", [current, name + ".weight_t"], [product]));
                    if (linear.HasBias)
                    {
                        graph.Message(5, Tensor(name + ".bias", [rows], linear.Bias.ToArray()));
                        string sum = Next();
                        graph.Message(1, Node("Add", name + ".add", [product, name + ".bias"], [sum]));
                        product = sum;
                    }
                    current = product;
                    width = rows;
                    break;
                }
                case ElementwiseLayer e:
                {
                    string output = Next();
                    graph.Message(1, e.Kind switch
                    {
                        LayerKind.Tanh => Node("Tanh", name, [current], [output]),
                        LayerKind.Relu => Node("Relu", name, [current], [output]),
                        LayerKind.Sigmoid => Node("Sigmoid", name, [current], [output]),
                        LayerKind.AddInput => Node("Add", name, [current, x], [output]),
                        _ => throw new NotSupportedException($"layer kind {e.Kind}"),
                    });
                    current = output;
                    break;
                }
                case RecurrentLayer r:
                {
                    if (r.Nonlinearity == RnnNonlinearity.Relu && r.Cell == RnnCellKind.Rnn)
                        throw new NotSupportedException("the ONNX writer writes tanh RNNs only");
                    bool lstm = r.Cell == RnnCellKind.Lstm;
                    for (int l = 0; l < r.NumLayers; l++)
                    {
                        LayerWeights lw = r.Weights(l, 0);
                        int k = states.Count(s => s.Input.StartsWith('h'));
                        string hIn = $"h{k}_in", hOut = $"h{k}_out", cIn = $"c{k}_in", cOut = $"c{k}_out", y = Next();
                        long[] stateShape = [1, batch, r.HiddenSize];
                        states.Add(new StateIo(hIn, hOut, stateShape));
                        if (lstm) states.Add(new StateIo(cIn, cOut, stateShape));
                        AddRecurrent(graph, $"{name}.l{l}", $"{name}.l{l}.", r.Cell, r.HiddenSize, lw.InputSize,
                            lw.WeightIhFlat.ToArray(), lw.WeightHhFlat.ToArray(), lw.BiasIh.ToArray(), lw.BiasHh.ToArray(),
                            current, hIn, lstm ? cIn : null, y, hOut, lstm ? cOut : null);
                        // Y [T, 1, B, H] -> [T, B, H] for the next layer.
                        if (!squeezeAxes)
                        {
                            graph.Message(5, Int64Tensor("squeeze_axes", [1], [1]));
                            squeezeAxes = true;
                        }
                        string squeezed = Next();
                        graph.Message(1, Node("Squeeze", $"{name}.l{l}.squeeze", [y, "squeeze_axes"], [squeezed]));
                        current = squeezed;
                    }
                    width = r.HiddenSize;
                    break;
                }
                default:
                    throw new NotSupportedException($"layer {layer}");
            }
        }
        if (width != model.OutputSize) throw new InvalidOperationException($"ONNX graph ends at width {width}, the network at {model.OutputSize}");

        long[] inShape = [steps, batch, model.InputSize], outShape = [steps, batch, model.OutputSize];
        graph.String(2, "rnnrt_network");
        graph.Message(11, ValueInfo(x, inShape));
        foreach (StateIo s in states) graph.Message(11, ValueInfo(s.Input, s.Shape));
        graph.Message(12, ValueInfo(current, outShape));
        foreach (StateIo s in states) graph.Message(12, ValueInfo(s.Output, s.Shape));
        return (Model(graph), new NetworkSignature(x, current, inShape, outShape, states));
    }

    private static string OpName(RnnCellKind cell) => cell switch { RnnCellKind.Rnn => "RNN", RnnCellKind.Gru => "GRU", _ => "LSTM" };

    /// <summary>
    /// One RNN / GRU / LSTM operator (one layer, forward) with its W, R, B initializers named
    /// <paramref name="prefix"/>W/R/B; inputs X, W, R, B, sequence_lens (none), initial_h[, initial_c];
    /// outputs Y ("" for none), Y_h[, Y_c].
    /// </summary>
    private static void AddRecurrent(Proto graph, string nodeName, string prefix, RnnCellKind cell, int hidden, int input,
        float[] weightIh, float[] weightHh, float[] biasIh, float[] biasHh, string x, string hIn, string? cIn, string y, string hOut, string? cOut)
    {
        int[] order = cell switch
        {
            RnnCellKind.Rnn => [0],
            RnnCellKind.Gru => [1, 0, 2],      // PyTorch r, z, n  -> ONNX z, r, h
            _ => [0, 3, 1, 2],                 // PyTorch i, f, g, o -> ONNX i, o, f, c
        };
        int H = hidden, I = input, G = order.Length;
        float[] w = Reorder(weightIh, order, H * I);
        float[] r = Reorder(weightHh, order, H * H);
        float[] b = [.. Reorder(biasIh, order, H), .. Reorder(biasHh, order, H)];

        var inputs = new List<string> { x, prefix + "W", prefix + "R", prefix + "B", "", hIn };
        if (cIn is not null) inputs.Add(cIn);
        var outputs = new List<string> { y, hOut };
        if (cOut is not null) outputs.Add(cOut);
        Proto node = Node(OpName(cell), nodeName, inputs, outputs);
        node.Message(5, new Proto().String(1, "hidden_size").Int(3, H).Int(20, 2));              // AttributeProto INT
        if (cell == RnnCellKind.Gru)
            node.Message(5, new Proto().String(1, "linear_before_reset").Int(3, 1).Int(20, 2));

        graph.Message(1, node);
        graph.Message(5, Tensor(prefix + "W", [1, G * H, I], w));
        graph.Message(5, Tensor(prefix + "R", [1, G * H, H], r));
        graph.Message(5, Tensor(prefix + "B", [1, 2 * G * H], b));
    }

    /// <summary>NodeProto: input (1), output (2), name (3), op_type (4); attributes (5) are added by the caller.</summary>
    private static Proto Node(string op, string name, IEnumerable<string> inputs, IEnumerable<string> outputs)
    {
        var node = new Proto();
        foreach (string i in inputs) node.String(1, i);
        foreach (string o in outputs) node.String(2, o);
        node.String(3, name);
        node.String(4, op);
        return node;
    }

    private static byte[] Model(Proto graph)
    {
        var model = new Proto();
        model.Int(1, 8);                                   // ir_version 8
        model.String(2, "rnnrt-bench");                    // producer_name
        model.Message(7, graph);
        model.Message(8, new Proto().String(1, "").Int(2, 17));   // opset_import: default domain, opset 17
        return model.ToArray();
    }

    private static float[] Reorder(float[] pytorch, int[] order, int block)
    {
        var onnx = new float[pytorch.Length];
        for (int g = 0; g < order.Length; g++)
            Array.Copy(pytorch, order[g] * block, onnx, g * block, block);
        return onnx;
    }

    private static Proto Int64Tensor(string name, long[] dims, long[] data)
    {
        var t = new Proto();
        foreach (long d in dims) t.Int(1, d);             // dims
        t.Int(2, 7);                                      // data_type INT64
        t.String(8, name);                                // name
        t.Bytes(9, MemoryMarshal.AsBytes(data.AsSpan())); // raw_data, little-endian
        return t;
    }

    private static Proto Tensor(string name, long[] dims, float[] data)
    {
        var t = new Proto();
        foreach (long d in dims) t.Int(1, d);             // dims
        t.Int(2, 1);                                      // data_type FLOAT
        t.String(8, name);                                // name
        t.Bytes(9, MemoryMarshal.AsBytes(data.AsSpan())); // raw_data, little-endian
        return t;
    }

    private static Proto ValueInfo(string name, long[] dims)
    {
        var shape = new Proto();
        foreach (long d in dims) shape.Message(1, new Proto().Int(1, d));      // Dimension.dim_value
        var tensorType = new Proto().Int(1, 1).Message(2, shape);              // elem_type FLOAT, shape
        return new Proto().String(1, name).Message(2, new Proto().Message(1, tensorType));
    }

    /// <summary>The protobuf wire format, as much of it as ONNX needs: varints and length-delimited fields.</summary>
    private sealed class Proto
    {
        private readonly MemoryStream _s = new();

        public Proto Int(int field, long value)
        {
            Varint((ulong)(field << 3));
            Varint((ulong)value);
            return this;
        }

        public Proto Bytes(int field, ReadOnlySpan<byte> value)
        {
            Varint((ulong)(field << 3 | 2));
            Varint((ulong)value.Length);
            _s.Write(value);
            return this;
        }

        public Proto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Proto Message(int field, Proto message) => Bytes(field, message._s.GetBuffer().AsSpan(0, (int)message._s.Length));

        public byte[] ToArray() => _s.ToArray();

        private void Varint(ulong v)
        {
            while (v >= 0x80)
            {
                _s.WriteByte((byte)(v | 0x80));
                v >>= 7;
            }
            _s.WriteByte((byte)v);
        }
    }
}
