using BertSharp.Inference;
using BertSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Onnx;

/// <summary>BertSharp's (TorchSharp) outputs of a model under the names its ONNX export gives them, and the ORT comparison.</summary>
internal static class OnnxParity
{
    public static Dictionary<string, float[]> TorchOutputs(BertPreTrainedModel model, Tensor ids, Tensor mask, Tensor types)
    {
        model.eval();
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var input = new BertInput(ids, mask, types);
        var o = new Dictionary<string, float[]>(StringComparer.Ordinal);
        switch (model)
        {
            case BertModel m:
                var r = m.Forward(input);
                o["last_hidden_state"] = InferenceBatch.ToFloats(r.LastHiddenState);
                o["pooler_output"] = InferenceBatch.ToFloats(r.PoolerOutput!);
                break;
            case BertForSequenceClassification m:
                o["logits"] = InferenceBatch.ToFloats(m.Forward(input).Logits);
                break;
            case BertForTokenClassification m:
                o["logits"] = InferenceBatch.ToFloats(m.Forward(input).Logits);
                break;
            case BertForNextSentencePrediction m:
                o["logits"] = InferenceBatch.ToFloats(m.Forward(input).Logits);
                break;
            case BertForQuestionAnswering m:
                var qa = m.Forward(input);
                o["start_logits"] = InferenceBatch.ToFloats(qa.StartLogits);
                o["end_logits"] = InferenceBatch.ToFloats(qa.EndLogits);
                break;
            case BertForMaskedLM m:
                o["logits"] = InferenceBatch.ToFloats(m.Forward(input).Logits);
                break;
            case BertForPreTraining m:
                var pt = m.Forward(input);
                o["prediction_logits"] = InferenceBatch.ToFloats(pt.PredictionLogits);
                o["seq_relationship_logits"] = InferenceBatch.ToFloats(pt.SeqRelationshipLogits);
                break;
            default:
                throw new InvalidOperationException(model.GetType().Name);
        }
        return o;
    }

    /// <summary>Max |ORT - BertSharp| over every output of the graph.</summary>
    public static double MaxDiff(string onnxPath, Dictionary<string, float[]> expected, long[] ids, long[] mask, long[] types, int batch, int seq)
    {
        using var session = OnnxBertSession.Open(onnxPath);
        Assert.Equal(expected.Keys.Order(), session.OutputNames.Order());
        double max = 0;
        foreach (var (name, want) in expected)
        {
            var (got, _) = session.Run(ids, mask, types, batch, seq, name);
            Assert.Equal(want.Length, got.Length);
            for (var i = 0; i < got.Length; i++)
            {
                max = Math.Max(max, Math.Abs(got[i] - want[i]));
            }
        }
        return max;
    }
}
