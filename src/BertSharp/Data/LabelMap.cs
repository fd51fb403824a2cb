using System.Globalization;

namespace BertSharp.Data;

/// <summary>
/// The label ↔ class-id mapping of a classification model (HF's <c>id2label</c> / <c>label2id</c> in config.json), or the
/// marker that the model is a regression model with one output.
/// </summary>
public sealed class LabelMap
{
    private readonly Dictionary<string, int> _ids;

    private LabelMap(IReadOnlyList<string> labels, bool regression)
    {
        Labels = labels;
        IsRegression = regression;
        _ids = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
    }

    /// <summary>Label names in class-id order (a single "score" for regression).</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>True for a regression model (float targets, one output).</summary>
    public bool IsRegression { get; }

    /// <summary>Number of model outputs: the class count, or 1 for regression.</summary>
    public int NumLabels => IsRegression ? 1 : Labels.Count;

    /// <summary>HF <c>problem_type</c>.</summary>
    public string ProblemType => IsRegression ? "regression" : "single_label_classification";

    /// <summary>A regression map (one output).</summary>
    public static LabelMap ForRegression() => new(["score"], regression: true);

    /// <summary>A map with the given class names in id order.</summary>
    public static LabelMap FromLabels(IReadOnlyList<string> labels)
    {
        if (labels.Count < 2)
        {
            throw new BertSharpException($"classification needs at least 2 labels; found {labels.Count} ({string.Join(", ", labels)}).");
        }
        if (labels.Distinct(StringComparer.Ordinal).Count() != labels.Count)
        {
            throw new BertSharpException($"duplicate label names: {string.Join(", ", labels)}.");
        }
        return new LabelMap([.. labels], regression: false);
    }

    /// <summary>
    /// The map for training on <paramref name="train"/>: a built-in task's fixed classes, or the labels seen in the data
    /// (sorted numerically when they are all integers, otherwise ordinally, so the same data always gives the same ids).
    /// </summary>
    public static LabelMap ForTask(TaskSpec task, TextDataset train)
    {
        if (task.Regression)
        {
            return ForRegression();
        }
        if (task.KnownLabels is { } known)
        {
            return FromLabels([.. known.Select(k => k.Value)]);
        }
        var seen = train.Examples.Select(e => e.Label!).Distinct(StringComparer.Ordinal).ToList();
        if (seen.All(s => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
        {
            seen.Sort((a, b) => long.Parse(a, CultureInfo.InvariantCulture).CompareTo(long.Parse(b, CultureInfo.InvariantCulture)));
        }
        else
        {
            seen.Sort(StringComparer.Ordinal);
        }
        if (seen.Count < 2)
        {
            throw new BertSharpException(
                $"{train.Path}: column '{train.LabelField}' has only one label value ('{seen.FirstOrDefault()}'); classification needs at least 2 (use {BertSharpException.Field("regression")} for numeric targets).");
        }
        return FromLabels(seen);
    }

    /// <summary>Rebuilds the map from a config's <c>id2label</c> (keys are ids as strings) and <c>problem_type</c>.</summary>
    public static LabelMap FromConfig(IReadOnlyDictionary<int, string>? id2label, int numLabels, string? problemType)
    {
        if (problemType == "regression" || (problemType is null && numLabels == 1))
        {
            return ForRegression();
        }
        var labels = new string[numLabels];
        for (var i = 0; i < numLabels; i++)
        {
            labels[i] = id2label is not null && id2label.TryGetValue(i, out var name) ? name : "LABEL_" + i.ToString(CultureInfo.InvariantCulture);
        }
        return FromLabels(labels);
    }

    /// <summary><c>id2label</c> for config.json.</summary>
    public IReadOnlyDictionary<int, string> Id2Label => Labels.Select((l, i) => (l, i)).ToDictionary(x => x.i, x => x.l);

    /// <summary><c>label2id</c> for config.json.</summary>
    public IReadOnlyDictionary<string, int> Label2Id => _ids;

    /// <summary>The class id of a label, or null when the model does not know it.</summary>
    public int? TryGetId(string label) => _ids.TryGetValue(label, out var id) ? id : null;

    /// <summary>
    /// The class id (or regression target) of every example of <paramref name="data"/>; a label the model was not trained
    /// on is an error naming the file, line and field.
    /// </summary>
    public float[] Encode(TextDataset data)
    {
        var result = new float[data.Count];
        for (var i = 0; i < data.Count; i++)
        {
            var e = data.Examples[i];
            if (e.Label is null)
            {
                throw new BertSharpException($"{data.Path} line {e.Line}: field '{data.LabelField}' is missing; expected a label.");
            }
            if (IsRegression)
            {
                if (!float.TryParse(e.Label, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !float.IsFinite(v))
                {
                    throw new BertSharpException($"{data.Path} line {e.Line}: field '{data.LabelField}' is '{e.Label}'; expected a number (the model is a regression model).");
                }
                result[i] = v;
            }
            else if (_ids.TryGetValue(e.Label, out var id))
            {
                result[i] = id;
            }
            else
            {
                throw new BertSharpException(
                    $"{data.Path} line {e.Line}: field '{data.LabelField}' has label '{e.Label}' that the model was not trained on; expected one of {string.Join(", ", Labels)}.");
            }
        }
        return result;
    }
}
