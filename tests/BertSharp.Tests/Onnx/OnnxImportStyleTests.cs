using BertSharp.Checkpoints.Onnx;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using Google.Protobuf;
using Onnx;

namespace BertSharp.Tests.Onnx;

/// <summary>Exporter styles the import follows beyond BertSharp's own: Gemm Linear layers (transB 1 and 0) and Identity-aliased weights.</summary>
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
}
