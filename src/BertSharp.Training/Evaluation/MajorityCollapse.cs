using System.Globalization;

namespace BertSharp.Evaluation;

/// <summary>A classifier that predicts one label for every input although the data has several.</summary>
/// <param name="Label">The one label predicted.</param>
/// <param name="Examples">Examples evaluated.</param>
/// <param name="Share">Share of the examples whose true label is <paramref name="Label"/> (= the accuracy reached by predicting it always).</param>
/// <param name="TrueLabels">How many labels occur in the data.</param>
public sealed record CollapseDiagnosis(string Label, int Examples, double Share, int TrueLabels);

/// <summary>
/// Detects a fine-tune that collapsed to the majority class (one predicted label, MCC 0) and says what usually causes it.
/// The run's numbers look plausible (accuracy = the majority share), so the user needs telling.
/// </summary>
public static class MajorityCollapse
{
    /// <summary>The collapse in <paramref name="report"/>, or null when the model predicts more than one label (or cannot be judged).</summary>
    public static CollapseDiagnosis? Detect(MetricsReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Confusion is not { } cm || report.Count < 2)
        {
            return null;
        }
        var classes = cm.GetLength(0);
        var predicted = Enumerable.Range(0, classes).Where(j => Enumerable.Range(0, classes).Any(i => cm[i, j] > 0)).ToList();
        var present = Enumerable.Range(0, classes).Where(i => Enumerable.Range(0, classes).Any(j => cm[i, j] > 0)).ToList();
        if (predicted.Count != 1 || present.Count < 2)
        {
            return null;
        }
        var label = predicted[0];
        long rowSum = 0;
        for (var j = 0; j < classes; j++)
        {
            rowSum += cm[label, j];
        }
        return new CollapseDiagnosis(report.Labels[label], report.Count, (double)rowSum / report.Count, present.Count);
    }

    /// <summary>
    /// The warning for a collapse: what happened, and the likely causes for this run — a learning rate far from the usual
    /// range for a model of <paramref name="parameters"/> parameters, and too few optimizer steps.
    /// </summary>
    /// <param name="diagnosis">What <see cref="Detect"/> found.</param>
    /// <param name="learningRate">Peak learning rate of the run, or null when unknown.</param>
    /// <param name="parameters">Model parameters, or null when unknown.</param>
    /// <param name="steps">Optimizer steps done so far, or null when unknown.</param>
    /// <param name="when">"epoch 2" or "final model", to say which weights.</param>
    /// <param name="examples">What the examples are ("validation examples").</param>
    public static string Warning(CollapseDiagnosis diagnosis, double? learningRate, long? parameters, int? steps, string when,
        string examples = "validation examples")
    {
        ArgumentNullException.ThrowIfNull(diagnosis);
        var inv = CultureInfo.InvariantCulture;
        var causes = new List<string>();
        if (learningRate is { } lr && parameters is { } n)
        {
            var (low, high) = UsualLearningRates(n);
            var size = n >= 1_000_000 ? string.Create(inv, $"{n / 1e6:0.#} M") : string.Create(inv, $"{n / 1e3:0.#} k");
            if (lr < low)
            {
                causes.Add($"learning_rate {Rate(lr)} is low for a {size}-parameter model (models of this size fine-tune at {Rate(low)}–{Rate(high)}; BERT-base's 2e-5 is too little for small models)");
            }
            else if (lr > high)
            {
                causes.Add($"learning_rate {Rate(lr)} is high for a {size}-parameter model (usual: {Rate(low)}–{Rate(high)}); too large a step wipes out what the encoder knew");
            }
        }
        if (steps is { } s && s < MinSteps)
        {
            causes.Add(string.Create(inv, $"only {s} optimizer step(s) so far (a few hundred are usual: more data, more epochs or a smaller batch_size)"));
        }
        if (causes.Count == 0)
        {
            causes.Add("the learning rate (try ×3 and ÷3), too few steps, or labels the text does not predict");
        }
        return string.Create(inv,
            $"{when}: the model predicts '{diagnosis.Label}' for all {diagnosis.Examples:N0} {examples} (MCC 0; accuracy {diagnosis.Share:0.0000} is just that label's share). Likely causes: {string.Join("; ", causes)}.");
    }

    // 2e-5, 1e-3: as learning rates are typed on the command line.
    private static string Rate(double x) =>
        x.ToString("0.##E+0", CultureInfo.InvariantCulture).Replace("E+", "e", StringComparison.Ordinal).Replace("E", "e", StringComparison.Ordinal);

    /// <summary>Optimizer steps below which a fine-tune has rarely had the chance to learn.</summary>
    public const int MinSteps = 100;

    /// <summary>
    /// The usual fine-tuning learning-rate range by model size: BERT-base/large 1e-5–5e-5 (the paper's grid), the compact
    /// models of Turc et al. (tiny … medium) up to 1e-3, as their scale needs larger steps.
    /// </summary>
    public static (double Low, double High) UsualLearningRates(long parameters) => parameters switch
    {
        < 20_000_000 => (1e-4, 1e-3),
        < 60_000_000 => (3e-5, 3e-4),
        _ => (1e-5, 1e-4),
    };
}
