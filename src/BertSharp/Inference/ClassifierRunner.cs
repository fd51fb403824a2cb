using BertSharp.Data;
using BertSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Inference;

/// <summary>Logits of a sequence classifier for every example, and the mean loss when the examples are labelled.</summary>
/// <param name="Logits">Per example (input order): num_labels logits (one value for regression).</param>
/// <param name="Loss">Mean loss over the examples (each batch's mean weighted by its size), or NaN without labels.</param>
public sealed record ClassifierRun(float[][] Logits, double Loss);

/// <summary>
/// Batched, gradient-free forward passes of a <see cref="BertForSequenceClassification"/>. Examples are grouped by length
/// (less padding) unless told otherwise; results come back in input order.
/// </summary>
public static class ClassifierRunner
{
    /// <summary>Runs <paramref name="model"/> in eval mode over <paramref name="examples"/>; the model's mode is restored afterwards.</summary>
    /// <exception cref="NonFiniteOutputException">A logit is NaN or infinite (the model's weights are broken).</exception>
    /// <exception cref="BertSharpException">
    /// <paramref name="withLabels"/> for a multi-label model of several labels, whose loss needs a target per label.
    /// </exception>
    /// <param name="model">The classifier.</param>
    /// <param name="examples">Encoded examples (targets NaN when <paramref name="withLabels"/> is false).</param>
    /// <param name="batchSize">Examples per forward pass.</param>
    /// <param name="padId">[PAD] id.</param>
    /// <param name="withLabels">Compute the loss from the examples' targets.</param>
    /// <param name="device">Where the model lives.</param>
    /// <param name="labelSmoothing">HF's label_smoothing_factor for the loss of a single-label classifier (<see cref="Losses.Trainer"/>); 0: the model's own loss.</param>
    /// <param name="groupByLength">Batch the examples by length (the default); false batches them in input order, as HF Trainer's evaluation does without group_by_length (the loss then adds up in HF's order).</param>
    public static ClassifierRun Run(BertForSequenceClassification model, IReadOnlyList<EncodedExample> examples, int batchSize, int padId,
        bool withLabels, Device device, double labelSmoothing = 0, bool groupByLength = true)
    {
        var config = model.Config;
        var multiLabel = config.ProblemType == "multi_label_classification";
        if (withLabels && multiLabel && config.NumLabels > 1)
        {
            throw new BertSharpException(
                Invariant($"problem_type multi_label_classification with {config.NumLabels} labels: an example holds one target; the loss needs one per label."));
        }
        var logits = new float[examples.Count][];
        double lossSum = 0;
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = torch.no_grad();
            var plan = Batching.PlanEvaluation([.. examples.Select(e => e.Length)], batchSize, groupByLength);
            foreach (var indices in plan)
            {
                using var scope = NewDisposeScope();
                // A one-label multi-label model's target is its one yes/no answer, which HF's BCE takes as floats shaped as the logits.
                using var batch = Batching.Collate(examples, indices, padId, regression: config.IsRegression || multiLabel, withLabels, device);
                using var labels = multiLabel ? batch.Labels?.unsqueeze(1) : null;
                var output = model.Forward(new BertInput(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds), labels ?? batch.Labels);
                var values = MixedPrecision.Float32(output.Logits).cpu().data<float>().ToArray();
                // Here for every caller (predict, evaluate, validation): an argmax over NaN logits would report label 0.
                NonFiniteOutputException.ThrowIfNotFinite(values, "logits");
                var width = values.Length / indices.Length;
                for (var r = 0; r < indices.Length; r++)
                {
                    logits[indices[r]] = values[(r * width)..((r + 1) * width)];
                }
                if (Losses.Trainer(output, labels ?? batch.Labels, labelSmoothing) is { } loss)
                {
                    lossSum += loss.to(torch.float64).cpu().item<double>() * indices.Length;
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return new ClassifierRun(logits, withLabels && examples.Count > 0 ? lossSum / examples.Count : double.NaN);
    }
}
