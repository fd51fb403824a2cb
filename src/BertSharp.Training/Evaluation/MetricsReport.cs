using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.IO;

namespace BertSharp.Evaluation;

/// <summary>
/// All metrics of one evaluation: for classification accuracy, binary (positive = class 1, when there are two classes)
/// and macro precision/recall/F1, MCC and the confusion matrix; for regression Pearson, Spearman and MSE; for token
/// classification seqeval's entity scores. Serialises to <c>metrics.json</c>.
/// </summary>
public sealed class MetricsReport
{
    private MetricsReport(IReadOnlyList<string> labels, int count, SortedDictionary<string, double> values, long[,]? confusion, SeqevalReport? entities = null)
    {
        Labels = labels;
        Count = count;
        Values = values;
        Confusion = confusion;
        Entities = entities;
    }

    /// <summary>Class names in id order (empty for regression).</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Number of evaluated examples.</summary>
    public int Count { get; }

    /// <summary>Metric name → value (accuracy, precision, recall, f1, macro_precision, macro_recall, macro_f1, mcc, pearson, spearman, mse, loss).</summary>
    public IReadOnlyDictionary<string, double> Values { get; }

    /// <summary>Counts [true class, predicted class]; null for regression.</summary>
    public long[,]? Confusion { get; }

    /// <summary>
    /// The entity scores of a token-classification report with the entities predicted and labelled per type, which tell a 0
    /// scored for a zero denominator from a wrong one (as <see cref="Confusion"/> does for classification); null otherwise.
    /// </summary>
    public SeqevalReport? Entities { get; }

    /// <summary>The example count and every metric, e.g. <c>MetricsReport { Count = 872, accuracy = 0.91, f1 = 0.9 }</c>: what a printed result shows.</summary>
    public override string ToString() =>
        Invariant($"MetricsReport {{ Count = {Count}") + string.Concat(Values.Select(v => Invariant($", {v.Key} = {v.Value}"))) + " }";

    /// <summary>The value of <paramref name="metric"/>, or an error listing the available ones.</summary>
    public double Get(string metric) =>
        Values.TryGetValue(metric, out var v) ? v
            : throw new BertSharpException($"metric '{metric}' is not computed for this task; available: {string.Join(", ", Values.Keys)}.");

    /// <summary>Classification report from class ids.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The vectors differ in length, or are empty, or <paramref name="labels"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A class id is not an index into <paramref name="labels"/>.</exception>
    public static MetricsReport ForClassification(IReadOnlyList<string> labels, IReadOnlyList<int> truth, IReadOnlyList<int> predicted, double? loss = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        // The confusion matrix would refuse no classes too, but naming its own parameter (numClasses), which this method does not have.
        if (labels.Count == 0)
        {
            throw new ArgumentException("expected at least one label; the label list is empty.", nameof(labels));
        }
        var cm = ClassificationMetrics.ConfusionMatrix(truth, predicted, labels.Count);
        var values = new SortedDictionary<string, double>(StringComparer.Ordinal)
        {
            ["accuracy"] = ClassificationMetrics.Accuracy(truth, predicted),
            ["mcc"] = ClassificationMetrics.MatthewsCorrelation(cm),
        };
        if (labels.Count == 2)
        {
            var (p, r, f) = ClassificationMetrics.ForClass(cm, 1);
            values["precision"] = p;
            values["recall"] = r;
            values["f1"] = f;
        }
        var (mp, mr, mf) = ClassificationMetrics.Macro(cm);
        values["macro_precision"] = mp;
        values["macro_recall"] = mr;
        values["macro_f1"] = mf;
        if (labels.Count != 2)
        {
            // With more than two classes the headline F1 is the macro one.
            values["f1"] = mf;
        }
        if (loss is { } l)
        {
            values["loss"] = l;
        }
        return new MetricsReport(labels, truth.Count, values, cm);
    }

    /// <summary>Token-classification report: the values of <paramref name="evaluation"/> and its entity scores as <see cref="Entities"/>.</summary>
    /// <param name="evaluation">The evaluation of a token classifier.</param>
    /// <param name="count">The number of evaluated sentences.</param>
    public static MetricsReport ForTagging(TaggingEvaluation evaluation, int count)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        return new([], count, Sorted(evaluation.Values()), null, evaluation.Scores);
    }

    /// <summary>Regression report from targets and predictions.</summary>
    /// <exception cref="ArgumentNullException">A vector is null.</exception>
    /// <exception cref="ArgumentException">The vectors differ in length, or are empty.</exception>
    public static MetricsReport ForRegression(IReadOnlyList<double> truth, IReadOnlyList<double> predicted, double? loss = null)
    {
        // Checked here, not first by Pearson, which names its own parameters (x, y).
        ClassificationMetrics.CheckSameLength(truth, predicted);
        ClassificationMetrics.RequirePredictions(predicted.Count, nameof(predicted));
        var values = new SortedDictionary<string, double>(StringComparer.Ordinal)
        {
            ["pearson"] = RegressionMetrics.Pearson(truth, predicted),
            ["spearman"] = RegressionMetrics.Spearman(truth, predicted),
            ["mse"] = RegressionMetrics.MeanSquaredError(truth, predicted),
        };
        if (loss is { } l)
        {
            values["loss"] = l;
        }
        return new MetricsReport([], truth.Count, values, null);
    }

    /// <summary>The report as JSON (NaN written as null).</summary>
    public JsonObject ToJson(IReadOnlyDictionary<string, object?>? extra = null)
    {
        var metrics = new JsonObject();
        foreach (var (k, v) in Values)
        {
            metrics[k] = double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;
        }
        var o = new JsonObject { ["examples"] = Count, ["metrics"] = metrics };
        if (Confusion is { } cm)
        {
            o["labels"] = new JsonArray([.. Labels.Select(l => (JsonNode)JsonValue.Create(l)!)]);
            var rows = new JsonArray();
            for (var i = 0; i < cm.GetLength(0); i++)
            {
                rows.Add(new JsonArray([.. Enumerable.Range(0, cm.GetLength(1)).Select(j => (JsonNode)JsonValue.Create(cm[i, j])!)]));
            }
            o["confusion_matrix"] = rows;
            o["confusion_matrix_note"] = "rows = true label, columns = predicted label, in the order of 'labels'";
        }
        if (Entities is { } entities)
        {
            // The precisions' denominators: the metrics have the recalls' (TYPE_number) but would not tell a type never predicted.
            o[PredictedEntitiesKey] = new JsonObject([.. entities.PerType.Select(t => KeyValuePair.Create(t.Key, (JsonNode?)JsonValue.Create(t.Value.Predicted)))]);
            // The entities depend on how they were read: strict IOB2 and the default mode score the same tags differently.
            o[SeqevalMode.ModeKey] = entities.StrictScheme is null ? "default" : "strict";
            o[SeqevalMode.SchemeKey] = entities.StrictScheme?.ToString();
        }
        if (extra is not null)
        {
            foreach (var (k, v) in extra)
            {
                o[k] = JsonSerializer.SerializeToNode(v);
            }
        }
        return o;
    }

    /// <summary>Reads a report back from what <see cref="ToJson"/> wrote (values as rounded there); a malformed one is an error naming the file.</summary>
    public static MetricsReport Load(string path)
    {
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not a JSON object");
            var values = ((JsonObject?)o["metrics"] ?? throw new JsonException("no \"metrics\""))
                .Select(kv => KeyValuePair.Create(kv.Key, kv.Value is null ? double.NaN : kv.Value.GetValue<double>()));
            var labels = o["labels"] is JsonArray l ? l.Select(x => x!.GetValue<string>()).ToList() : [];
            long[,]? confusion = null;
            if (o["confusion_matrix"] is JsonArray rows)
            {
                confusion = new long[rows.Count, rows.Count];
                for (var i = 0; i < rows.Count; i++)
                {
                    var row = (JsonArray)rows[i]!;
                    for (var j = 0; j < row.Count; j++)
                    {
                        confusion[i, j] = row[j]!.GetValue<long>();
                    }
                }
            }
            var sorted = Sorted(values);
            var entities = o[PredictedEntitiesKey] is JsonObject predicted ? EntitiesOf(sorted, predicted) with { StrictScheme = SeqevalMode.Of(o) } : null;
            return new MetricsReport(labels, o["examples"]?.GetValue<int>() ?? 0, sorted, confusion, entities);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or InvalidCastException or IndexOutOfRangeException)
        {
            throw new BertSharpException($"{path}: not a metrics file ({e.Message}).", e);
        }
    }

    /// <summary>A report from metric values alone (as a training log records them; no confusion matrix).</summary>
    public static MetricsReport FromValues(IReadOnlyList<string> labels, int count, IEnumerable<KeyValuePair<string, double>> values) =>
        new(labels, count, Sorted(values), null);

    private const string PredictedEntitiesKey = "predicted_entities";

    private static SortedDictionary<string, double> Sorted(IEnumerable<KeyValuePair<string, double>> values) =>
        new(values.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);

    /// <summary>The entity scores back from the metrics (<see cref="TaggingEvaluation.Values"/>'s names) and the predicted counts per type.</summary>
    private static SeqevalReport EntitiesOf(SortedDictionary<string, double> values, JsonObject predicted)
    {
        double Value(string key) => values.TryGetValue(key, out var v) ? v : throw new JsonException($"no \"{key}\" in \"metrics\"");
        static int Count(double v, string key) =>
            v >= 0 && v <= int.MaxValue && v == Math.Floor(v) ? (int)v : throw new JsonException($"\"{key}\" is {v.ToString(CultureInfo.InvariantCulture)}, not a count");
        var perType = new SortedDictionary<string, EntityScores>(StringComparer.Ordinal);
        foreach (var (type, n) in predicted)
        {
            var number = $"{type}_number";
            perType[type] = new EntityScores(Value($"{type}_precision"), Value($"{type}_recall"), Value($"{type}_f1"), Count(Value(number), number))
            {
                Predicted = Count(n?.GetValue<double>() ?? double.NaN, $"{PredictedEntitiesKey}.{type}"),
            };
        }
        var micro = new EntityScores(Value("precision"), Value("recall"), Value("f1"), perType.Values.Sum(s => s.Support))
        {
            Predicted = perType.Values.Sum(s => s.Predicted),
        };
        return new SeqevalReport(perType, micro, Value("accuracy"));
    }

    /// <summary>Writes <c>metrics.json</c> atomically.</summary>
    public void Save(string path, IReadOnlyDictionary<string, object?>? extra = null) =>
        AtomicFile.WriteAllText(path, ToJson(extra).ToJsonString(ReadableJson.Indented) + "\n");

    /// <summary>
    /// Whether <paramref name="metric"/> is a count rather than a score: seqeval's <c>TYPE_number</c> (support) and SQuAD
    /// v2.0's <c>total</c> / <c>HasAns_total</c> / <c>NoAns_total</c>, which HF's metrics hand back as ints.
    /// </summary>
    public static bool IsCount(string metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        return metric == "total" || metric.EndsWith("_number", StringComparison.Ordinal) || metric.EndsWith("_total", StringComparison.Ordinal);
    }

    /// <summary>A value formatted for tables: 4 decimals, "n/a" for NaN.</summary>
    public static string Format(double v) => double.IsFinite(v) ? v.ToString("0.0000", CultureInfo.InvariantCulture) : "n/a";
}
