using BertSharp.Inference;
using BertSharp.Modeling;

namespace BertSharp.Training;

/// <summary>The plan lines of a fine-tuning run that say what was decided for the user.</summary>
internal static class FineTuneNotes
{
    /// <summary>Load report, max length, lower-casing and the data notes, one line each.</summary>
    public static IReadOnlyList<string> Describe(ModelSource source, LoadReport? report, ResolvedLength length, IReadOnlyList<string> dataNotes)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(length);
        ArgumentNullException.ThrowIfNull(dataNotes);
        var notes = new List<string> { Load(source, report) };
        notes.Add(source.ModelDir is null
            ? $"max length: {length.Length} tokens (positions start untrained; max_position_embeddings {length.PositionLimit})"
            : $"max length: {length.Length} tokens (the model is trained to {length.TrainedLength}, max_position_embeddings {length.PositionLimit})");
        if (source.Lowercasing is { } lower)
        {
            notes.Add(lower.ToString());
        }
        notes.AddRange(dataNotes);
        return notes;
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
        parts.Add(report.MissingKeys.Count == 0 ? "every weight loaded" : $"{report.MissingKeys.Count} weight(s) newly initialised ({Names(report.MissingKeys)})");
        if (report.UnexpectedKeys.Count > 0)
        {
            parts.Add($"{report.UnexpectedKeys.Count} checkpoint tensor(s) not used ({Names(report.UnexpectedKeys)})");
        }
        return $"model: {source.ModelDir} — {string.Join("; ", parts)}";
    }

    private static string Names(IReadOnlyList<string> keys) =>
        string.Join(", ", keys.Take(6)) + (keys.Count > 6 ? $", … {keys.Count - 6} more" : "");
}
