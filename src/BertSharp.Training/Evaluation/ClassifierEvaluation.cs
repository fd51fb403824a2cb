using System.Text;
using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Modeling;
using BertSharp.Runtime;
using static TorchSharp.torch;

namespace BertSharp.Inference;

/// <summary>The metrics of one evaluation plus what the tutorials print alongside them.</summary>
/// <param name="Report">All metrics (and the mean loss).</param>
/// <param name="BatchMcc">MCC of each consecutive batch of the file (the CoLA tutorial's per-batch view); empty for regression.</param>
/// <param name="Logits">Per example (input order) the model's logits.</param>
public sealed record EvaluationResult(MetricsReport Report, IReadOnlyList<double> BatchMcc, float[][] Logits)
{
    // The per-batch MCC and the logits as values, not type names: a user prints an evaluation.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Invariant($"Report = {Report}, BatchMcc = {RecordText.List(BatchMcc)}, Logits = {RecordText.List(Logits)}"));
        return true;
    }
}

/// <summary>Evaluates a sequence classifier on labelled encoded examples.</summary>
public static class ClassifierEvaluation
{
    /// <summary>Runs the model over <paramref name="examples"/> (targets set) and computes every metric of its problem type.</summary>
    /// <param name="model">The classifier.</param>
    /// <param name="labels">Its label map.</param>
    /// <param name="examples">Labelled encoded examples.</param>
    /// <param name="batchSize">Examples per forward pass, and the size of the per-batch MCC groups.</param>
    /// <param name="padId">[PAD] id.</param>
    /// <param name="device">Where the model lives.</param>
    /// <param name="labelSmoothing">HF's label_smoothing_factor of the run that validates: its Trainer's evaluation loss is smoothed too (0: the model's own loss).</param>
    /// <param name="groupByLength">Batch the examples by length (the default); false batches them in input order, as HF Trainer's evaluation does without group_by_length.</param>
    /// <exception cref="BertSharpException">The model is a multi-label classifier (problem_type multi_label_classification).</exception>
    /// <exception cref="ArgumentException"><paramref name="examples"/> is empty.</exception>
    public static EvaluationResult Evaluate(BertForSequenceClassification model, LabelMap labels, IReadOnlyList<EncodedExample> examples,
        int batchSize, int padId, Device device, double labelSmoothing = 0, bool groupByLength = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(examples);
        // The metrics would refuse no examples too, but naming their own parameter (predicted), which this method does not have.
        ClassificationMetrics.RequirePredictions(examples.Count, nameof(examples));
        if (model.Config.ProblemType == "multi_label_classification")
        {
            // Its loss wants a 0/1 target per label; one class id per example failed inside libtorch's BCE with a native stack trace.
            throw new BertSharpException(
                "problem_type 'multi_label_classification': evaluation scores one label per example (a class id, or a number for regression); a multi-label model answers yes or no for each of its labels, which these metrics do not measure.");
        }
        var run = ClassifierRunner.Run(model, examples, batchSize, padId, withLabels: true, device, labelSmoothing, groupByLength);
        if (labels.IsRegression)
        {
            var truth = examples.Select(e => (double)e.Target).ToArray();
            var predicted = run.Logits.Select(l => (double)l[0]).ToArray();
            return new EvaluationResult(MetricsReport.ForRegression(truth, predicted, run.Loss), [], run.Logits);
        }
        var t = examples.Select(e => (int)e.Target).ToArray();
        var p = run.Logits.Select(l => ScoreMath.ArgMax(l)).ToArray();
        var perBatch = new List<double>();
        for (var start = 0; start < t.Length; start += batchSize)
        {
            var end = Math.Min(t.Length, start + batchSize);
            perBatch.Add(ClassificationMetrics.MatthewsCorrelation(t[start..end], p[start..end], labels.NumLabels));
        }
        return new EvaluationResult(MetricsReport.ForClassification(labels.Labels, t, p, run.Loss), perBatch, run.Logits);
    }
}
