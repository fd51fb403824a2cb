using Google.Protobuf;
using Onnx;

namespace BertSharp.Checkpoints.Onnx;

/// <summary>
/// Dynamic int8 quantization of an ONNX graph's MatMul weights (ORT's C# API has no quantization tool): every MatMul whose
/// second input is a constant [in, out] float matrix becomes a com.microsoft <c>DynamicQuantizeMatMul</c> with that matrix
/// quantized per output column, symmetrically (int8, zero point 0, scale = max |w| / 127); activations are quantized at run
/// time by ORT. Embeddings, LayerNorms, biases and activation-by-activation MatMuls stay float.
/// </summary>
internal static class OnnxQuantizer
{
    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>Quantizes <paramref name="model"/> in place; returns the number of MatMuls quantized.</summary>
    public static int QuantizeInt8(ModelProto model)
    {
        var g = model.Graph;
        var initializers = g.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var uses = g.Node.SelectMany(n => n.Input).GroupBy(i => i, StringComparer.Ordinal).ToDictionary(x => x.Key, x => x.Count(), StringComparer.Ordinal);
        var count = 0;
        using var reader = new OnnxTensorReader("(in memory)");
        for (var i = 0; i < g.Node.Count; i++)
        {
            var node = g.Node[i];
            if (node.OpType != "MatMul" || node.Domain is not ("" or "ai.onnx") || !initializers.TryGetValue(node.Input[1], out var w)
                || w.Dims.Count != 2 || (TensorProto.Types.DataType)w.DataType != TensorProto.Types.DataType.Float || uses[w.Name] != 1)
            {
                continue;
            }
            var (rows, cols) = ((int)w.Dims[0], (int)w.Dims[1]);
            var data = reader.Floats(w);
            var scales = new float[cols];
            for (var c = 0; c < cols; c++)
            {
                var max = 0f;
                for (var r = 0; r < rows; r++)
                {
                    max = Math.Max(max, Math.Abs(data[(r * cols) + c]));
                }
                scales[c] = max > 0 ? max / 127f : 1f;
            }
            var q = new sbyte[data.Length];
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < cols; c++)
                {
                    q[(r * cols) + c] = (sbyte)Math.Clamp(MathF.Round(data[(r * cols) + c] / scales[c], MidpointRounding.ToEven), -127, 127);
                }
            }
            g.Initializer.Remove(w);
            var qName = w.Name + "_quantized";
            g.Initializer.Add(Tensor(qName, TensorProto.Types.DataType.Int8, MemoryBytes(q), rows, cols));
            g.Initializer.Add(Tensor(w.Name + "_scale", TensorProto.Types.DataType.Float, MemoryBytes(scales), cols));
            g.Initializer.Add(Tensor(w.Name + "_zero_point", TensorProto.Types.DataType.Int8, new byte[cols], cols));
            var dq = new NodeProto { OpType = "DynamicQuantizeMatMul", Domain = MicrosoftDomain, Name = node.Name + "_quant" };
            dq.Input.AddRange([node.Input[0], qName, w.Name + "_scale", w.Name + "_zero_point"]);
            dq.Output.Add(node.Output[0]);
            g.Node[i] = dq;
            count++;
        }
        if (count > 0 && model.OpsetImport.All(o => o.Domain != MicrosoftDomain))
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        }
        return count;
    }

    private static byte[] MemoryBytes<T>(T[] values) where T : struct =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static TensorProto Tensor(string name, TensorProto.Types.DataType type, byte[] raw, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(dims);
        return t;
    }
}
