using BertSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Modeling;

/// <summary>Runs one of our models on a fixture call (<c>{prefix}in.*</c>) and names the outputs as the fixture's <c>{prefix}out.*</c>.</summary>
internal static class FixtureRunner
{
    public static Dictionary<string, Tensor> Run(BertPreTrainedModel model, Dictionary<string, Tensor> refs, string prefix, bool withInternals)
    {
        Tensor? In(string n) => refs.GetValueOrDefault(prefix + "in." + n);
        var input = new BertInput(In("input_ids")!, In("attention_mask"), In("token_type_ids"));
        var o = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        BertModelOutput bert;
        switch (model)
        {
            case BertModel m:
                bert = m.Forward(input, withInternals, withInternals);
                break;
            case BertForPreTraining m:
                {
                    var r = m.Forward(input, In("labels"), In("next_sentence_label"), withInternals, withInternals);
                    o["prediction_logits"] = r.PredictionLogits;
                    o["seq_relationship_logits"] = r.SeqRelationshipLogits;
                    Add(o, "loss", r.Loss);
                    Add(o, "mlm_loss", r.MlmLoss);
                    Add(o, "nsp_loss", r.NspLoss);
                    bert = r.Bert;
                    break;
                }
            case BertForMaskedLM m:
                {
                    var r = m.Forward(input, In("labels"), withInternals, withInternals);
                    bert = Logits(o, r.Logits, r.Loss, r.Bert);
                    break;
                }
            case BertForSequenceClassification m:
                {
                    var r = m.Forward(input, In("labels"), withInternals, withInternals);
                    if (In("multi_labels") is { } multi)
                    {
                        // The fixture sets problem_type at run time on the same checkpoint; the loss rule alone is under test.
                        Add(o, "loss_multi_label", Losses.SequenceClassification(r.Logits, multi, m.Config.NumLabels, "multi_label_classification").Loss);
                    }
                    bert = Logits(o, r.Logits, r.Loss, r.Bert);
                    break;
                }
            case BertForTokenClassification m:
                bert = Logits(o, m.Forward(input, In("labels"), withInternals, withInternals));
                break;
            case BertForMultipleChoice m:
                bert = Logits(o, m.Forward(input, In("labels"), withInternals, withInternals));
                break;
            case BertForNextSentencePrediction m:
                bert = Logits(o, m.Forward(input, In("labels"), withInternals, withInternals));
                break;
            case BertForQuestionAnswering m:
                {
                    var r = m.Forward(input, In("start_positions"), In("end_positions"), withInternals, withInternals);
                    o["start_logits"] = r.StartLogits;
                    o["end_logits"] = r.EndLogits;
                    Add(o, "loss", r.Loss);
                    bert = r.Bert;
                    break;
                }
            default:
                throw new InvalidOperationException(model.GetType().Name);
        }
        o["last_hidden_state"] = bert.LastHiddenState;
        Add(o, "pooler_output", bert.PoolerOutput);
        for (var i = 0; i < (bert.HiddenStates?.Count ?? 0); i++)
        {
            o[$"hidden_states.{i}"] = bert.HiddenStates![i];
        }
        for (var i = 0; i < (bert.Attentions?.Count ?? 0); i++)
        {
            o[$"attentions.{i}"] = bert.Attentions![i];
        }
        return o;
    }

    private static BertModelOutput Logits(Dictionary<string, Tensor> o, ClassifierOutput r) => Logits(o, r.Logits, r.Loss, r.Bert);

    private static BertModelOutput Logits(Dictionary<string, Tensor> o, Tensor logits, Tensor? loss, BertModelOutput bert)
    {
        o["logits"] = logits;
        Add(o, "loss", loss);
        return bert;
    }

    internal static void Add(Dictionary<string, Tensor> o, string name, Tensor? t)
    {
        if (t is not null)
        {
            // Scalar losses are stored with shape [1] in the fixtures.
            o[name] = t.dim() == 0 ? t.reshape(1) : t;
        }
    }

    /// <summary>The call prefixes present in a reference file: "", "pair.", "single.", "loss.".</summary>
    public static IEnumerable<string> Prefixes(Dictionary<string, Tensor> refs) =>
        refs.Keys.Where(k => k.Contains("in.", StringComparison.Ordinal))
            .Select(k => k[..k.IndexOf("in.", StringComparison.Ordinal)]).Distinct();
}
