using BertSharp.Checkpoints.Onnx;
using Google.Protobuf;
using Onnx;

namespace BertSharp.Tests.Onnx;

/// <summary>
/// The matrix loops of the ONNX import and the int8 export on small non-square shapes, against values computed by hand: the
/// transpose of a Linear weight, and the per-column scales and int8 values of a quantized MatMul (the real-model tests only
/// bound the quantized graph's cosine, which a wrong rounding or scale could still meet).
/// </summary>
public sealed class OnnxWeightLayoutTests
{
    [Theory]
    [InlineData(3, 5)]
    [InlineData(33, 2)]
    public void Transpose_puts_every_element_of_a_row_major_matrix_at_its_mirrored_place(int rows, int cols)
    {
        var data = new float[rows * cols];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                data[(r * cols) + c] = (r * 1000) + c;
            }
        }
        var t = OnnxImporter.Transpose(data, rows, cols);
        Assert.Equal(new long[] { cols, rows }, t.Shape);
        for (var c = 0; c < cols; c++)
        {
            for (var r = 0; r < rows; r++)
            {
                Assert.Equal((r * 1000) + c, t.Data[(c * rows) + r]);
            }
        }
    }

    [Fact]
    public void Int8_quantization_scales_each_output_column_by_its_largest_magnitude()
    {
        // [in 4, out 3]: column 0's largest |w| is 127 (scale 1), column 1's 254 (scale 2), column 2 is all zero (scale 1);
        // halves round to even. Per-row scales or a transposed walk would give other values.
        float[] w =
        [
            127f, -254f, 0f,
            -63.5f, 1f, 0f,
            2.5f, 3f, 0f,
            -1f, -0.5f, 0f,
        ];
        var weight = new TensorProto { Name = "W", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 4, 3 } };
        weight.FloatData.AddRange(w);
        var model = new ModelProto { Graph = new GraphProto { Initializer = { weight } } };
        model.Graph.Node.Add(new NodeProto { OpType = "MatMul", Name = "mm", Input = { "x", "W" }, Output = { "y" } });

        Assert.Equal(1, OnnxQuantizer.QuantizeInt8(model));

        var node = Assert.Single(model.Graph.Node);
        Assert.Equal(("DynamicQuantizeMatMul", OnnxQuantizer.MicrosoftDomain), (node.OpType, node.Domain));
        Assert.Equal(["x", "W_quantized", "W_scale", "W_zero_point"], node.Input);
        var byName = model.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Assert.False(byName.ContainsKey("W"));
        Assert.Equal(new sbyte[] { 127, -127, 0, -64, 0, 0, 2, 2, 0, -1, 0, 0 }, Sbytes(byName["W_quantized"].RawData));
        Assert.Equal(new[] { 1f, 2f, 1f }, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(byName["W_scale"].RawData.Span).ToArray());
        Assert.Equal(new byte[3], byName["W_zero_point"].RawData.ToByteArray());
        Assert.Contains(model.OpsetImport, o => o.Domain == OnnxQuantizer.MicrosoftDomain);
    }

    private static sbyte[] Sbytes(ByteString raw) => [.. raw.ToByteArray().Select(b => unchecked((sbyte)b))];
}
