using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.Checkpoints;

namespace BertSharp.Evaluation;

/// <summary>
/// seqeval's mode as a run records it (<c>ner_mode</c> and <c>ner_scheme</c> of training_args.json, metrics.json and a
/// checkpoint's settings): <c>strict</c> with its scheme, or <c>default</c> without one.
/// </summary>
public static class SeqevalMode
{
    internal const string ModeKey = "ner_mode";

    internal const string SchemeKey = "ner_scheme";

    /// <summary>
    /// The strict mode's scheme a model directory was fine-tuned with (its training_args.json), or null for the default mode:
    /// a fine-tuning records the mode only when strict, so a directory without the file or without the mode (a run in the
    /// default mode, another tool's model) was scored by the default mode.
    /// </summary>
    /// <param name="modelDir">The model directory or Hub id.</param>
    /// <exception cref="BertSharpException">The file records a mode without its scheme, a scheme without the strict mode, or an unknown one.</exception>
    public static SeqevalScheme? Trained(string modelDir)
    {
        ArgumentNullException.ThrowIfNull(modelDir);
        if (TrainingArgsFile.ReadModel(modelDir) is not { } args)
        {
            return null;
        }
        try
        {
            return Of(args);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new BertSharpException($"{TrainingArgsFile.PathIn(modelDir)}: {e.Message}.", e);
        }
    }

    /// <summary>The strict mode's scheme <paramref name="o"/> records, or null for the default mode (and for a record without the mode).</summary>
    /// <exception cref="JsonException">The mode and scheme recorded are not default without a scheme, or strict with a known one.</exception>
    /// <exception cref="InvalidOperationException">One is not a string.</exception>
    internal static SeqevalScheme? Of(JsonObject o)
    {
        var mode = o[ModeKey]?.GetValue<string>() ?? "default";
        var scheme = o[SchemeKey]?.GetValue<string>();
        return (mode, scheme) switch
        {
            ("default", null) => null,
            ("strict", { } name) when Enum.GetNames<SeqevalScheme>().Contains(name, StringComparer.Ordinal) => Enum.Parse<SeqevalScheme>(name),
            _ => throw new JsonException($"\"{ModeKey}\" {mode} with \"{SchemeKey}\" {scheme ?? "null"}; expected default without a scheme, or strict with one of {string.Join(", ", Enum.GetNames<SeqevalScheme>())}"),
        };
    }
}
