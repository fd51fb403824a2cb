using System.Globalization;
using BertSharp.Modeling;

namespace BertSharp.Data;

/// <summary>
/// The label ↔ class-id mapping of a classification model (HF's <c>id2label</c> / <c>label2id</c> in config.json), or the
/// marker that the model is a regression model with one output.
/// </summary>
public sealed class LabelMap
{
    private readonly Dictionary<string, int> _ids;

    private readonly bool _multiLabel;

    private LabelMap(IReadOnlyList<string> labels, bool regression, bool multiLabel = false)
    {
        Labels = labels;
        IsRegression = regression;
        _multiLabel = multiLabel;
        _ids = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
    }

    /// <summary>Label names in class-id order (a single "score" for regression).</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>True for a regression model (float targets, one output).</summary>
    public bool IsRegression { get; }

    /// <summary>Number of model outputs: the class count, or 1 for regression.</summary>
    public int NumLabels => IsRegression ? 1 : Labels.Count;

    /// <summary>HF <c>problem_type</c>.</summary>
    public string ProblemType => IsRegression ? "regression" : _multiLabel ? "multi_label_classification" : "single_label_classification";

    /// <summary>A regression map (one output).</summary>
    public static LabelMap ForRegression() => new(["score"], regression: true);

    /// <summary>A map with the given class names in id order.</summary>
    /// <param name="labels">The class names in id order: each named (not null, empty or white space only), none twice.</param>
    /// <exception cref="BertSharpException">Fewer than 2 names, a class without a name, or a name given to two classes.</exception>
    public static LabelMap FromLabels(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return Classes(labels, multiLabel: false, "labels", given: true);
    }

    // A multi-label model's labels are independent yes/no answers, so one label is a classifier of its own (HF: sigmoid, BCE);
    // classes that exclude each other need two. Names read from a config may be empty (HF allows it, and a prediction still
    // names its class by id), so only given names must each be named; no map can tell two classes of one name apart.
    private static LabelMap Classes(IReadOnlyList<string> labels, bool multiLabel, string field, bool given)
    {
        var least = multiLabel ? 1 : 2;
        if (labels.Count < least)
        {
            throw new BertSharpException(Invariant($"{field}: {(multiLabel ? "multi-label " : "")}classification needs at least {least} label{(least == 1 ? "" : "s")}; found {labels.Count} ({string.Join(", ", labels)})."));
        }
        if (ClassNames.Fault(labels, unnamedAllowed: !given) is { } fault)
        {
            throw new BertSharpException($"{field}: {fault.What}; expected {(fault.Repeated ? "each label once, in id order" : "a label name for each class")}.");
        }
        return new LabelMap([.. labels], regression: false, multiLabel);
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
        if (BertConfig.IsRegressionProblem(problemType, numLabels))
        {
            return ForRegression();
        }
        var labels = new string[numLabels];
        for (var i = 0; i < numLabels; i++)
        {
            labels[i] = id2label is not null && id2label.TryGetValue(i, out var name) ? name : DefaultName(i);
        }
        return Classes(labels, multiLabel: problemType == "multi_label_classification", "field 'id2label'", given: false);
    }

    /// <summary>
    /// Whether the class names are exactly HF's defaults LABEL_0 … LABEL_{n-1}: those of a config.json whose classes were
    /// never named (transformers writes them for a model made with num_labels alone), which say nothing of what a class means.
    /// </summary>
    internal bool HasDefaultNames => !IsRegression && Labels.Select((l, i) => l == DefaultName(i)).All(same => same);

    /// <summary>
    /// The map to read the labels of <paramref name="data"/> (of <paramref name="task"/>) with, for this model. A model with
    /// HF's default names (LABEL_0 … LABEL_{n-1}) is read as HF's run_glue.py reads it (its label2id only counts when the names are not
    /// the defaults): data whose labels are all class ids ("0", "1", …) give label i class i (one past the classes is then
    /// refused by <see cref="Encode(TextDataset)"/> as "expected one of 0, 1, 2"), and a built-in task's named
    /// labels (sst2's negative, positive) take the task's class order when the model has as many classes. The map returned
    /// then names the classes as the data does, and <paramref name="note"/> says so, naming <paramref name="configPath"/>'s
    /// id2label and the mapping; otherwise (the data use the model's names, other names, or the model names its classes)
    /// it is this map and the note null: names other than the defaults are never guessed at, and <see cref="Encode(TextDataset)"/> then
    /// refuses a label the model does not know.
    /// </summary>
    /// <param name="data">The labelled data to be matched to the model.</param>
    /// <param name="task">The task <paramref name="data"/> was read as (its class order for named labels).</param>
    /// <param name="configPath">The model's config.json, for the note.</param>
    /// <param name="note">The mapping used, or null when the data were matched by name.</param>
    public LabelMap ForData(TextDataset data, TaskSpec task, string configPath, out string? note)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(task);
        note = null;
        if (!HasDefaultNames)
        {
            return this;
        }
        var seen = data.Examples.Select(e => e.Label).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (seen.All(_ids.ContainsKey))
        {
            return this;
        }
        var ids = Enumerable.Range(0, NumLabels).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
        List<string> names;
        string how;
        if (task.KnownLabels is { } known && known.Count == NumLabels && seen.All(s => known.Any(k => k.Value == s)))
        {
            names = [.. known.Select(k => k.Value)];
            how = $"task {task.Name}'s labels are taken in its class order";
        }
        else if (seen.All(IsClassIdText))
        {
            // An id past the last class is refused by Encode in the data's own terms (expected one of 0, 1, 2).
            names = ids;
            how = $"the labels of {data.Path} are read as class ids";
        }
        else
        {
            return this;
        }
        note = $"{configPath}: field 'id2label' holds HF's default names ({string.Join(", ", Labels)}), which do not say what the classes are; " +
               $"{how}: {string.Join(", ", names.Select((n, i) => $"{n} → {Labels[i]}"))}.";
        return FromLabels(names);
    }

    /// <summary>
    /// The map to fine-tune further a classifier whose head has <paramref name="checkpoint"/>'s classes, this map being the
    /// one the training data give (<see cref="ForTask"/>). Data with the checkpoint's labels keep its class order, and so what
    /// its head has learnt (as HF's run_glue.py uses such a model's label2id); a checkpoint with HF's default names reads the
    /// data's class ids or task labels as <see cref="ForData"/> does, <paramref name="note"/> saying so. Otherwise the head
    /// is trained with the data's own order (<paramref name="note"/> says so when the checkpoint's head is kept for classes it
    /// named otherwise).
    /// </summary>
    internal LabelMap ContinuingFrom(LabelMap checkpoint, TextDataset train, TaskSpec task, string configPath, out string? note)
    {
        note = null;
        if (IsRegression || checkpoint.IsRegression)
        {
            return this;
        }
        if (checkpoint.Labels.Order(StringComparer.Ordinal).SequenceEqual(Labels.Order(StringComparer.Ordinal), StringComparer.Ordinal))
        {
            return checkpoint;
        }
        var read = checkpoint.ForData(train, task, configPath, out note);
        // Ids past the checkpoint's classes ask for a larger head: the data's own classes.
        if (ReferenceEquals(read, checkpoint) || Labels.Any(l => read.TryGetId(l) is null))
        {
            // Other names for as many classes: the head is kept (its size fits) and learns the data's classes in their own
            // order, so class i's weights start from the checkpoint's class i, whatever it meant (run_glue.py warns alike).
            note = checkpoint.NumLabels == NumLabels && ReferenceEquals(read, checkpoint)
                ? $"{configPath}: field 'id2label' names the checkpoint's classes {string.Join(", ", checkpoint.Labels)}; the data's labels are others, " +
                  $"so {KeptHeadOrder(checkpoint.Labels)}"
                : null;
            return this;
        }
        return read;
    }

    /// <summary>
    /// How a checkpoint's head of as many classes, named <paramref name="was"/> in id order, learns these classes: in their
    /// order, class i's weights starting from the checkpoint's class i, whatever it meant.
    /// </summary>
    internal string KeptHeadOrder(IReadOnlyList<string> was) =>
        $"its head is trained further with the data's classes in their order: {string.Join(", ", Labels.Select((l, i) => Invariant($"{l} → class {i} (was {was[i]})")))}.";

    /// <summary><c>id2label</c> for config.json.</summary>
    public IReadOnlyDictionary<int, string> Id2Label => Labels.Select((l, i) => (l, i)).ToDictionary(x => x.i, x => x.l);

    /// <summary><c>label2id</c> for config.json.</summary>
    public IReadOnlyDictionary<string, int> Label2Id => _ids;

    /// <summary>The class id of a label, or null when the model does not know it.</summary>
    public int? TryGetId(string label) => _ids.TryGetValue(label, out var id) ? id : null;

    /// <summary>
    /// A regression label as its target: false unless it is a finite number, the one rule of the readers and of
    /// <see cref="Encode(TextDataset)"/>, so that a file one of them takes the other does not refuse.
    /// </summary>
    /// <remarks>1e400 parses (as infinity): a number, only not a finite one, as NaN and Infinity are; one rule names them all.</remarks>
    internal static bool TryParseTarget(string label, out float value) =>
        float.TryParse(label, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && float.IsFinite(value);

    /// <summary>
    /// The class id (or regression target) of every example of <paramref name="data"/>; a label the model was not trained
    /// on is an error naming the file, line and field.
    /// </summary>
    public float[] Encode(TextDataset data) => Encode(data, "that the model was not trained on");

    /// <summary>
    /// <see cref="Encode(TextDataset)"/>, an unknown label said to be one <paramref name="unknown"/> ("that the training
    /// data train.csv does not have": a fine-tuning's validation file is read before any model is trained).
    /// </summary>
    internal float[] Encode(TextDataset data, string unknown)
    {
        var result = new float[data.Count];
        for (var i = 0; i < data.Count; i++)
        {
            var e = data.Examples[i];
            if (e.Label is null)
            {
                throw new BertSharpException(Invariant($"{IO.LineRef.At(data.Path, e.Line)}: field '{data.LabelField}' is missing; expected a label."));
            }
            if (IsRegression)
            {
                if (!TryParseTarget(e.Label, out var v))
                {
                    throw new BertSharpException(Invariant($"{IO.LineRef.At(data.Path, e.Line)}: field '{data.LabelField}' is '{e.Label}'; expected a finite number (the model is a regression model)."));
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
                    Invariant($"{IO.LineRef.At(data.Path, e.Line)}: field '{data.LabelField}' has label {Written(e)} {unknown}; expected one of {string.Join(", ", Labels)}."));
            }
        }
        return result;
    }

    // The file's text, with the task's name for it: CoLA's 1 named as 'acceptable' read as if the file held that word.
    private static string Written(TextExample e) => e.LabelText == e.Label ? $"'{e.Label}'" : $"'{e.LabelText}' (read as '{e.Label}')";

    private static bool IsClassIdText(string label) =>
        long.TryParse(label, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id.ToString(CultureInfo.InvariantCulture) == label;

    private static string DefaultName(int id) => "LABEL_" + id.ToString(CultureInfo.InvariantCulture);
}
