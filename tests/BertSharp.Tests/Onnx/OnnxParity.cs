using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
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
                Classifier(o, m.Forward(input));
                break;
            case BertForTokenClassification m:
                Classifier(o, m.Forward(input));
                break;
            case BertForNextSentencePrediction m:
                Classifier(o, m.Forward(input));
                break;
            case BertForQuestionAnswering m:
                var qa = m.Forward(input);
                o["start_logits"] = InferenceBatch.ToFloats(qa.StartLogits);
                o["end_logits"] = InferenceBatch.ToFloats(qa.EndLogits);
                o["last_hidden_state"] = InferenceBatch.ToFloats(qa.Bert.LastHiddenState);
                break;
            case BertForMultipleChoice m:
                Classifier(o, m.Forward(input));
                break;
            case BertForMaskedLM m:
                var mlm = m.Forward(input);
                o["logits"] = InferenceBatch.ToFloats(mlm.Logits);
                o["last_hidden_state"] = InferenceBatch.ToFloats(mlm.Bert.LastHiddenState);
                break;
            case BertForPreTraining m:
                var pt = m.Forward(input);
                o["prediction_logits"] = InferenceBatch.ToFloats(pt.PredictionLogits);
                o["seq_relationship_logits"] = InferenceBatch.ToFloats(pt.SeqRelationshipLogits);
                o["last_hidden_state"] = InferenceBatch.ToFloats(pt.Bert.LastHiddenState);
                break;
            default:
                throw new InvalidOperationException(model.GetType().Name);
        }
        return o;
    }

    private static void Classifier(Dictionary<string, float[]> o, ClassifierOutput c)
    {
        o["logits"] = InferenceBatch.ToFloats(c.Logits);
        o["last_hidden_state"] = InferenceBatch.ToFloats(c.Bert.LastHiddenState);
    }

    /// <summary>Max |ORT - BertSharp| over every output of the graph.</summary>
    public static double MaxDiff(string onnxPath, Dictionary<string, float[]> expected, long[] ids, long[] mask, long[] types, int batch, int seq) =>
        MaxDiff(onnxPath, expected, ids, mask, types, [batch, seq]);

    /// <summary>Max |ORT - BertSharp| over every output of the graph, on inputs of shape <paramref name="shape"/>.</summary>
    public static double MaxDiff(string onnxPath, Dictionary<string, float[]> expected, long[] ids, long[] mask, long[] types, long[] shape)
    {
        using var session = OnnxBertSession.Open(onnxPath, TestTorch.OrtThreads);
        Assert.Equal(expected.Keys.Order(), session.OutputNames.Order());
        double max = 0;
        foreach (var (name, want) in expected)
        {
            var (got, _) = session.Run(ids, mask, types, shape, name);
            Assert.Equal(want.Length, got.Length);
            for (var i = 0; i < got.Length; i++)
            {
                max = Math.Max(max, Math.Abs(got[i] - want[i]));
            }
        }
        return max;
    }
}
