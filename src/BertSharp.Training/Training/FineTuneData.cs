using System.Globalization;
using BertSharp.Data;

namespace BertSharp.Training;

/// <summary>The training and validation examples of a fine-tuning run, and what the user should be told about them.</summary>
/// <param name="Train">Training examples.</param>
/// <param name="Validation">Validation examples, or null without validation.</param>
/// <param name="Notes">What was done (where the validation set comes from), for the plan.</param>
/// <param name="Warnings">Things that make the run's numbers misleading (a one-label validation set, a label-sorted file cut at its tail).</param>
internal sealed record FineTuneData(TextDataset Train, TextDataset? Validation, IReadOnlyList<string> Notes, IReadOnlyList<string> Warnings)
{
    /// <summary>Reads the files of <paramref name="o"/>, holds out validation data as it says, and applies the example limits.</summary>
    /// <param name="o">The run's settings.</param>
    /// <param name="validates">
    /// False on the ranks of a data-parallel run that do not validate: the validation file is not read (<see cref="Validation"/>
    /// is then null), while a validation split of the training data is still made, since it decides the training set.
    /// </param>
    public static FineTuneData Read(FineTuneOptions o, bool validates = true)
    {
        ArgumentNullException.ThrowIfNull(o);
        var all = DatasetReader.Read(o.Training.DataPath, o.Task);
        var notes = new List<string>();
        var warnings = new List<string>();
        var blocks = o.Task.Regression ? null : DataSplit.LabelBlocks(all);
        if (FractionalLabelsWarning(o, all) is { } fractional)
        {
            warnings.Add(fractional);
        }
        TextDataset train;
        TextDataset? val;
        if (o.Training.EvalDataPath is not null)
        {
            train = all;
            val = o.Training.ValidationFile(validates) is { } evalPath ? DatasetReader.Read(evalPath, o.Task) : null;
            if (val is not null)
            {
                notes.Add(Invariant($"validation: {o.Training.EvalDataPath} ({val.Count:N0} examples)"));
            }
        }
        else
        {
            var method = o.EffectiveSplit;
            (train, val) = DataSplit.TrainValidation(all, o.ValSize, method, o.Training.Seed);
            if (val is not null)
            {
                var how = method switch
                {
                    SplitMethod.Tail => Invariant($"the last {val.Count:N0} examples of {o.Training.DataPath} (split=tail)"),
                    SplitMethod.Random => Invariant($"a random {val.Count:N0} examples of {o.Training.DataPath} (split=random, seed={o.Training.Seed})"),
                    _ => Invariant($"a stratified random {val.Count:N0} examples of {o.Training.DataPath}, each label in its share of the file (seed {o.Training.Seed})"),
                };
                notes.Add("validation: " + how);
                if (blocks is not null)
                {
                    var sorted = $"{o.Training.DataPath} is sorted by label: {DataSplit.DescribeBlocks(blocks)}";
                    if (method == SplitMethod.Tail)
                    {
                        warnings.Add($"{sorted}; its tail is not a fair validation set — drop split=tail (the default splits stratified by label) or give eval_data.");
                    }
                    else
                    {
                        notes.Add($"{sorted}; the split does not depend on that order (the file's tail would have held label '{blocks[^1].Label}' only).");
                    }
                }
            }
        }
        if (o.Training.MaxTrainExamples is { } mt && train.Count > mt)
        {
            var kept = train.With([.. train.Examples.Take(mt)]);
            if (!o.Task.Regression && Labels(kept).Count < Labels(train).Count)
            {
                warnings.Add(Invariant($"max_train_examples {mt}: the first {mt:N0} training examples hold only label(s) {Quote(Labels(kept))} of {Quote(Labels(train))}") +
                             (blocks is not null ? $" ({o.Training.DataPath} is sorted by label)" : "") + "; the model cannot learn the others.");
            }
            train = kept;
        }
        if (o.Training.MaxEvalExamples is { } me && val is not null && val.Count > me)
        {
            // The plan's validation line counted the whole file or split; say what the run validates on.
            notes.Add(Invariant($"max_eval_examples {me}: validation on the first {me:N0} of those {val.Count:N0} examples"));
            val = val.With([.. val.Examples.Take(me)]);
        }
        warnings.AddRange(LabelSetWarnings(o, train, val));
        return new FineTuneData(train, val, notes, warnings);
    }

    /// <summary>Warnings when the validation labels differ from the training labels (classification only).</summary>
    public static IEnumerable<string> LabelSetWarnings(FineTuneOptions o, TextDataset train, TextDataset? val)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(train);
        // One or two examples cannot hold every label; saying so would be noise.
        if (o.Task.Regression || val is null || val.Count < 2)
        {
            yield break;
        }
        var trainLabels = Labels(train);
        var valLabels = Labels(val);
        var origin = o.Training.EvalDataPath is null ? "the validation split" : $"the validation data {o.Training.EvalDataPath}";
        if (valLabels.Count == 1 && trainLabels.Count > 1)
        {
            yield return Invariant($"{origin} holds only label '{valLabels.First()}' ({val.Count:N0} examples): accuracy on it says little and MCC is 0 whatever the model does.");
        }
        else if (!valLabels.SetEquals(trainLabels))
        {
            var missing = trainLabels.Except(valLabels).ToList();
            var extra = valLabels.Except(trainLabels).ToList();
            var parts = new List<string>();
            if (missing.Count > 0)
            {
                parts.Add($"has no example of {Quote(missing)}");
            }
            if (extra.Count > 0)
            {
                parts.Add($"has label(s) {Quote(extra)} that training never shows");
            }
            yield return $"{origin} {string.Join(" and ", parts)}: its label set differs from training's ({Quote(trainLabels)}).";
        }
    }

    /// <summary>
    /// A warning when a classification's labels are all numbers and some have a fractional part ('3.48'): a score such as
    /// STS-B's similarity, whose every distinct value would become a class of its own. HF's run_glue.py reads float labels
    /// as regression by itself; here regression is asked for, so a forgotten flag trained hundreds of classes in silence.
    /// </summary>
    /// <remarks>Whole numbers written as floats ('0.0', '1.0', as pandas writes a column with a gap) are classes as they stand.</remarks>
    private static string? FractionalLabelsWarning(FineTuneOptions o, TextDataset data)
    {
        if (o.Task.Regression || o.Task.KnownLabels is not null)
        {
            return null;
        }
        var labels = Labels(data);
        var values = new List<double>(labels.Count);
        foreach (var label in labels)
        {
            if (!double.TryParse(label, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
            {
                return null;
            }
            values.Add(v);
        }
        var fractional = labels.Where((_, i) => values[i] != Math.Floor(values[i])).Take(3).ToList();
        return fractional.Count == 0
            ? null
            : Invariant($"{data.Path}: column '{data.LabelField}' holds {labels.Count:N0} different numbers as labels, some not whole (such as {Quote(fractional)}): each becomes a class of its own; a score to predict is a regression (regression=true).");
    }

    private static SortedSet<string> Labels(TextDataset d) => new(d.Examples.Select(e => e.Label ?? ""), StringComparer.Ordinal);

    private static string Quote(IEnumerable<string> labels) => string.Join(", ", labels.Select(l => "'" + l + "'"));
}
