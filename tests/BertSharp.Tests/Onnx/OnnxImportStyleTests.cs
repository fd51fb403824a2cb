using BertSharp.Checkpoints.Onnx;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using Google.Protobuf;
using Onnx;

namespace BertSharp.Tests.Onnx;

/// <summary>Exporter styles the import follows beyond BertSharp's own: Gemm Linear layers (transB 1 and 0), Identity-aliased weights, weights stored as float16, bfloat16 or double, and head shapes computed at run time.</summary>
public sealed class OnnxImportStyleTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public void Anonymous_gemm_weights_are_found_through_their_named_bias(int transB)
    {
        using var model = BertPretrained.Load(null, HfFixture.Dir("sequence-classification"), out _);
        var onnx = OnnxExport.ToOnnx(model);
        var g = onnx.Graph;
        // The pooler as torch exports a 2-D Linear: Gemm(x, W, b) with an anonymous W ([out, in] with transB 1, [in, out] with 0).
        var matmul = g.Node.Single(n => n.OpType == "MatMul" && n.Input[1] == "onnx::MatMul_pooler.dense");
        var add = g.Node.Single(n => n.OpType == "Add" && n.Input.Contains(matmul.Output[0]));
        var wt = g.Initializer.Single(t => t.Name == "onnx::MatMul_pooler.dense"); // [in, out]
        var (rows, cols) = ((int)wt.Dims[0], (int)wt.Dims[1]);
        var data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(wt.RawData.Span).ToArray();
        if (transB == 1)
        {
            var t = new float[data.Length];
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < cols; c++)
                {
                    t[(c * rows) + r] = data[(r * cols) + c];
                }
            }
            data = t;
            wt.Dims.Clear();
            wt.Dims.AddRange([cols, rows]);
        }
        wt.Name = "1017";
        wt.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        var gemm = new NodeProto { OpType = "Gemm", Name = "Gemm_7", Input = { matmul.Input[0], "identity_1017", "pooler.dense.bias" }, Output = { add.Output[0] } };
        gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = transB });
        var identity = new NodeProto { OpType = "Identity", Input = { "1017" }, Output = { "identity_1017" } };
        var index = g.Node.IndexOf(matmul);
        g.Node.Remove(add);
        g.Node[index] = gemm;
        g.Node.Insert(index, identity);
        using var tmp = TestPaths.TempDir();
        File.WriteAllBytes(tmp.File("gemm.onnx"), onnx.ToByteArray());
        var imported = OnnxImport.Read(tmp.File("gemm.onnx"));
        using var expected = BertPretrained.StateDict(model)["bert.pooler.dense.weight"];
        Assert.True(expected.data<float>().ToArray().AsSpan().SequenceEqual(imported.Weights["pooler.dense.weight"].Data));
        Assert.Equal(nameof(BertForSequenceClassification), imported.Architecture);
    }

    [Theory]
    [InlineData("float16 raw")]
    [InlineData("float16 int32_data")]
    [InlineData("bfloat16 raw")]
    [InlineData("double raw")]
    [InlineData("double double_data")]
    public void Weights_stored_in_other_floating_point_types_import_as_their_float32_values(string storage)
    {
        // fp16 and double exports (onnxconverter-common's float16 conversion, an optimiser's casts) are read by converting
        // each weight, from raw bytes or the typed field ONNX keeps fp16 in (int32_data, one value each): no test had a
        // weight of a type other than float.
        using var model = BertPretrained.Load(null, HfFixture.Dir("sequence-classification"), out _);
        var onnx = OnnxExport.ToOnnx(model);
        var wt = onnx.Graph.Initializer.Single(t => t.Name == "onnx::MatMul_pooler.dense");
        var data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(wt.RawData.Span).ToArray();
        Func<float, float> stored;
        wt.RawData = ByteString.Empty;
        switch (storage)
        {
            case "float16 raw":
                wt.DataType = (int)TensorProto.Types.DataType.Float16;
                wt.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.Select(v => (Half)v).ToArray().AsSpan()));
                stored = v => (float)(Half)v;
                break;
            case "float16 int32_data":
                wt.DataType = (int)TensorProto.Types.DataType.Float16;
                wt.Int32Data.AddRange(data.Select(v => (int)BitConverter.HalfToUInt16Bits((Half)v)));
                stored = v => (float)(Half)v;
                break;
            case "bfloat16 raw":
                // bfloat16 is the upper half of a float32's bits.
                wt.DataType = (int)TensorProto.Types.DataType.Bfloat16;
                wt.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray().AsSpan()));
                stored = v => BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(v) & 0xFFFF0000);
                break;
            case "double raw":
                wt.DataType = (int)TensorProto.Types.DataType.Double;
                wt.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.Select(v => (double)v).ToArray().AsSpan()));
                stored = v => v;
                break;
            default:
                wt.DataType = (int)TensorProto.Types.DataType.Double;
                wt.DoubleData.AddRange(data.Select(v => (double)v));
                stored = v => v;
                break;
        }
        using var tmp = TestPaths.TempDir();
        File.WriteAllBytes(tmp.File("typed.onnx"), onnx.ToByteArray());
        var imported = OnnxImport.Read(tmp.File("typed.onnx"));
        using var weight = BertPretrained.StateDict(model)["bert.pooler.dense.weight"];
        var expected = weight.data<float>().Select(stored).ToArray();
        Assert.Equal(expected, imported.Weights["pooler.dense.weight"].Data);
    }

    [Theory]
    [InlineData("Div")]
    [InlineData("Mul")]
    public void Heads_come_from_the_score_scale_when_the_head_shape_is_computed(string scale)
    {
        // A graph whose [batch, seq, heads, head_dim] shape is computed at run time has no reshape constants to read the
        // heads from; the scores' 1/sqrt(head_dim) scale (a Div by sqrt, or a Mul by its inverse) still tells them.
        using var model = BertPretrained.Load(null, HfFixture.Dir("sequence-classification"), out _);
        var onnx = OnnxExport.ToOnnx(model);
        var g = onnx.Graph;
        var ones = new TensorProto { Name = "split_heads_ones", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 4 }, Int64Data = { 1, 1, 1, 1 } };
        var inverse = new TensorProto { Name = "inverse_sqrt_head_dim", DataType = (int)TensorProto.Types.DataType.Float, FloatData = { 1f / MathF.Sqrt(model.Config.HeadDim) } };
        g.Initializer.Add(ones);
        g.Initializer.Add(inverse);
        foreach (var (reshape, k) in g.Node.Where(n => n.OpType == "Reshape" && n.Input[1].StartsWith("split_heads_shape", StringComparison.Ordinal)).ToList().Select((n, k) => (n, k)))
        {
            var computed = new NodeProto { OpType = "Mul", Name = $"split_heads_computed_{k}", Input = { reshape.Input[1], ones.Name }, Output = { $"split_heads_runtime_{k}" } };
            g.Node.Insert(g.Node.IndexOf(reshape), computed);
            reshape.Input[1] = computed.Output[0];
        }
        var divs = g.Node.Where(n => n.OpType == "Div" && n.Input[1].StartsWith("sqrt_head_dim", StringComparison.Ordinal)).ToList();
        Assert.Equal(model.Config.NumHiddenLayers, divs.Count);
        if (scale == "Mul")
        {
            foreach (var div in divs)
            {
                div.OpType = "Mul";
                div.Input[1] = inverse.Name;
            }
        }
        using var tmp = TestPaths.TempDir();
        File.WriteAllBytes(tmp.File("computed.onnx"), onnx.ToByteArray());
        var imported = OnnxImport.Read(tmp.File("computed.onnx"));
        Assert.Equal(model.Config.NumAttentionHeads, imported.Config.NumAttentionHeads);
        Assert.Contains($"4 attention heads of size 16 (attention score scale {(scale == "Div" ? "4" : "0.25")})", imported.Notes);
        using var rebuilt = OnnxImport.ToModel(imported, tmp.File("computed.onnx"), out _);
        var reference = HfFixture.Tensors("sequence-classification");
        try
        {
            var (ids, mask, types) = (reference["in.input_ids"], reference["in.attention_mask"], reference["in.token_type_ids"]);
            Assert.Equal(OnnxParity.TorchOutputs(model, ids, mask, types)["logits"], OnnxParity.TorchOutputs(rebuilt, ids, mask, types)["logits"]);
        }
        finally
        {
            HfFixture.DisposeAll(reference);
        }
    }
}
