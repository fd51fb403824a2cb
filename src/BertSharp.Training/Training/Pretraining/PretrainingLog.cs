using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using BertSharp.IO;
using ScottPlot;

namespace BertSharp.Training.Pretraining;

/// <summary>One line of <c>train_log.jsonl</c>: the metrics of an optimizer step, or of an evaluation.</summary>
public sealed record PretrainingLogEntry
{
    /// <summary>"train" or "eval".</summary>
    public string Kind { get; init; } = "train";

    public long Step { get; init; }

    /// <summary>MLM + NSP loss.</summary>
    public double Loss { get; init; }

    public double MaskedLmLoss { get; init; }

    /// <summary>Share of masked positions whose arg-max prediction is the original token.</summary>
    public double MaskedLmAccuracy { get; init; }

    public double NextSentenceLoss { get; init; }

    public double NextSentenceAccuracy { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double LearningRate { get; init; }

    /// <summary>Global gradient norm before clipping.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double GradNorm { get; init; }

    /// <summary>Real (non-padding) tokens processed per second in this step.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double TokensPerSecond { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double ElapsedSeconds { get; init; }

    /// <summary>Data position after the step (instances consumed since the start of the run).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long DataPosition { get; init; }
}

/// <summary><c>train_log.jsonl</c> (one JSON object per line) and <c>loss.png</c> of a pre-training run.</summary>
public static class PretrainingLog
{
    public const string FileName = "train_log.jsonl";

    public const string PlotName = "loss.png";

    internal static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string ToLine(PretrainingLogEntry e) => JsonSerializer.Serialize(e, Json);

    /// <summary>Reads a log; a malformed line is an error naming its line number.</summary>
    public static List<PretrainingLogEntry> Read(string path)
    {
        var list = new List<PretrainingLogEntry>();
        if (!File.Exists(path))
        {
            return list;
        }
        var n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            if (line.Length == 0)
            {
                continue;
            }
            try
            {
                list.Add(JsonSerializer.Deserialize<PretrainingLogEntry>(line, Json) ?? throw new JsonException("null"));
            }
            catch (JsonException e)
            {
                throw new BertSharpException($"{path}:{n}: not a log entry ({e.Message}).", e);
            }
        }
        return list;
    }

    /// <summary>Rewrites the whole log atomically.</summary>
    public static void Write(string path, IEnumerable<PretrainingLogEntry> entries) =>
        AtomicFile.WriteAllText(path, string.Concat(entries.Select(e => ToLine(e) + "\n")));

    /// <summary>Plots MLM and NSP loss per step (and evaluation points) into a PNG, atomically.</summary>
    public static void Plot(string path, IReadOnlyList<PretrainingLogEntry> entries)
    {
        var plot = new Plot();
        var train = entries.Where(e => e.Kind == "train").ToArray();
        var eval = entries.Where(e => e.Kind == "eval").ToArray();
        void Series(PretrainingLogEntry[] src, Func<PretrainingLogEntry, double> y, string label, bool markers)
        {
            if (src.Length == 0)
            {
                return;
            }
            var s = plot.Add.Scatter(src.Select(e => (double)e.Step).ToArray(), src.Select(y).ToArray());
            s.LegendText = label;
            s.MarkerSize = markers || src.Length <= 50 ? 5 : 0;
            s.LineWidth = markers ? 2 : 1;
        }
        Series(train, e => e.MaskedLmLoss, "masked LM loss (train)", false);
        Series(train, e => e.NextSentenceLoss, "next sentence loss (train)", false);
        Series(eval, e => e.MaskedLmLoss, "masked LM loss (eval)", true);
        Series(eval, e => e.NextSentenceLoss, "next sentence loss (eval)", true);
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"BERT pre-training, {train.Length} steps"));
        plot.XLabel("optimizer step");
        plot.YLabel("loss");
        plot.ShowLegend();
        var bytes = plot.GetImageBytes(900, 500, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
