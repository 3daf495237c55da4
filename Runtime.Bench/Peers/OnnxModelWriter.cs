using System.Runtime.InteropServices;
using System.Text;
using RnnRuntime.Bench.Suite;

namespace RnnRuntime.Bench.Peers;

/// <summary>
/// Writes the suite's model as an ONNX file holding one RNN / GRU / LSTM operator, so ONNX Runtime
/// runs the same weights with no Python at bench time. PyTorch's gate order becomes ONNX's
/// (GRU r,z,n -> z,r,h with linear_before_reset = 1, which is PyTorch's formula; LSTM i,f,g,o ->
/// i,o,f,c), and B = concat(W_b, R_b). Shapes are fixed (T, B, I), as a user who knows them would export.
/// </summary>
public static class OnnxModelWriter
{
    /// <summary>Inputs X [T, B, I], initial_h [1, B, H] (LSTM: initial_c); outputs Y [T, 1, B, H] when
    /// <paramref name="withY"/>, Y_h [1, B, H] (LSTM: Y_c).</summary>
    public static byte[] Write(BenchModel m, int steps, int batch, bool withY)
    {
        int[] order = m.Cell switch
        {
            RnnCellKind.Rnn => [0],
            RnnCellKind.Gru => [1, 0, 2],      // PyTorch r, z, n  -> ONNX z, r, h
            _ => [0, 3, 1, 2],                 // PyTorch i, f, g, o -> ONNX i, o, f, c
        };
        int H = m.Hidden, I = m.Input, G = m.Gates;
        float[] w = Reorder(m.WeightIh, order, H * I);
        float[] r = Reorder(m.WeightHh, order, H * H);
        float[] b = [.. Reorder(m.BiasIh, order, H), .. Reorder(m.BiasHh, order, H)];
        bool lstm = m.Cell == RnnCellKind.Lstm;
        string op = m.Cell switch { RnnCellKind.Rnn => "RNN", RnnCellKind.Gru => "GRU", _ => "LSTM" };

        var node = new Proto();
        // RNN/GRU/LSTM inputs: X, W, R, B, sequence_lens, initial_h[, initial_c].
        foreach (string input in lstm ? ["X", "W", "R", "B", "", "initial_h", "initial_c"] : new[] { "X", "W", "R", "B", "", "initial_h" })
            node.String(1, input);
        node.String(2, withY ? "Y" : "");
        node.String(2, "Y_h");
        if (lstm) node.String(2, "Y_c");
        node.String(3, "rnn");
        node.String(4, op);
        node.Message(5, new Proto().String(1, "hidden_size").Int(3, H).Int(20, 2));              // AttributeProto INT
        if (m.Cell == RnnCellKind.Gru)
            node.Message(5, new Proto().String(1, "linear_before_reset").Int(3, 1).Int(20, 2));

        var graph = new Proto();
        graph.Message(1, node);
        graph.String(2, $"{op.ToLowerInvariant()}_h{H}");
        graph.Message(5, Tensor("W", [1, G * H, I], w));
        graph.Message(5, Tensor("R", [1, G * H, H], r));
        graph.Message(5, Tensor("B", [1, 2 * G * H], b));
        graph.Message(11, ValueInfo("X", [steps, batch, I]));
        graph.Message(11, ValueInfo("initial_h", [1, batch, H]));
        if (lstm) graph.Message(11, ValueInfo("initial_c", [1, batch, H]));
        if (withY) graph.Message(12, ValueInfo("Y", [steps, 1, batch, H]));
        graph.Message(12, ValueInfo("Y_h", [1, batch, H]));
        if (lstm) graph.Message(12, ValueInfo("Y_c", [1, batch, H]));

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
