using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tokenization;

namespace BertSharp.Training;

/// <summary>The plan lines of a fine-tuning run that say what was decided for the user.</summary>
internal static class FineTuneNotes
{
    /// <summary>
    /// Load report (or, resuming, the <paramref name="checkpoint"/> the weights come from), max length, lower-casing and the
    /// data notes, one line each.
    /// </summary>
    public static IReadOnlyList<string> Describe(ModelSource source, LoadReport? report, ResolvedLength length, IReadOnlyList<string> dataNotes,
        string? checkpoint = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(length);
        ArgumentNullException.ThrowIfNull(dataNotes);
        var notes = new List<string>
        {
            // A resumed run's weights are the checkpoint's, whatever loading the starting model reported.
            checkpoint is null ? Load(source, report) : $"model: resumed from {checkpoint} (weights, optimizer state and data order)",
        };
        notes.Add(source.ModelDir is null
            ? Invariant($"max length: {length.Length} tokens (positions start untrained; max_position_embeddings {length.PositionLimit})")
            : Invariant($"max length: {length.Length} tokens (the model is trained to {length.TrainedLength}, max_position_embeddings {length.PositionLimit})"));
        if (source.Lowercasing is { } lower)
        {
            notes.Add(lower.ToString());
        }
        notes.AddRange(dataNotes);
        return notes;
    }

    /// <summary>
    /// "long texts: head+tail (…)" when the run cuts texts other than at their end, or cuts any: how a text longer than the
    /// maximum length is shortened; nothing when no text is cut with the default head.
    /// </summary>
    public static IEnumerable<string> Truncation(FineTuneOptions o, int maxLength, int truncated)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.TruncationSide != TruncationSide.Head || truncated > 0)
        {
            yield return $"long texts: {TruncationSides.Describe(o.TruncationSide, o.HeadTokens, maxLength, o.Task.TextPairColumn is not null)}";
        }
    }

    /// <summary>"classifier pooling: mean (…)" when the classifier reads the mean over the tokens; nothing for [CLS].</summary>
    public static IEnumerable<string> Pooling(BertConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.MeanPooling)
        {
            yield return "classifier pooling: mean of the last hidden state over the tokens (classifier_pooling in config.json; HF's BERT would read [CLS])";
        }
    }

    /// <summary>"model: DIR — 2 weight(s) newly initialised (…); 4 checkpoint tensor(s) not used (…)", as HF's loading log.</summary>
    public static string Load(ModelSource source, LoadReport? report)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.ModelDir is null || report is null)
        {
            return $"model: {source.ConfigOrigin}, every weight newly initialised (training from scratch)";
        }
        var parts = new List<string>();
        parts.Add(report.MissingKeys.Count == 0 ? "every weight loaded" : Invariant($"{report.MissingKeys.Count} weight(s) newly initialised ({Names(report.MissingKeys)})"));
        if (report.UnexpectedKeys.Count > 0)
        {
            parts.Add(Invariant($"{report.UnexpectedKeys.Count} checkpoint tensor(s) not used ({Names(report.UnexpectedKeys)})"));
        }
        return $"model: {source.ModelDir} — {string.Join("; ", parts)}";
    }

    private static string Names(IReadOnlyList<string> keys) =>
        string.Join(", ", keys.Take(6)) + (keys.Count > 6 ? Invariant($", … {keys.Count - 6} more") : "");
}
