using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.IO;

namespace BertSharp.Checkpoints;

/// <summary>
/// <c>training_args.json</c> of a model directory fine-tuned by BertSharp: the run's settings in snake_case (HF's names),
/// written by every fine-tuning and read by evaluation, prediction and the CLI to follow what the model was trained with.
/// A missing file says nothing about the run (null); a present one that cannot be read or is not a JSON object is an error,
/// since ignoring it would silently change how the model is used (e.g. head truncation instead of the trained side).
/// </summary>
public static class TrainingArgsFile
{
    /// <summary>The file's name in a model directory.</summary>
    public const string FileName = "training_args.json";

    /// <summary>Writes <paramref name="args"/> into <paramref name="dir"/> atomically (indented, one trailing newline).</summary>
    public static void Write(string dir, JsonObject args)
    {
        ArgumentNullException.ThrowIfNull(args);
        AtomicFile.WriteAllText(Path.Combine(dir, FileName), args.ToJsonString(ReadableJson.Indented) + "\n");
    }

    /// <summary>
    /// The settings recorded in a model directory or in the snapshot a Hub id resolves to (a failure there names the id as
    /// typed), or null when it has no training_args.json.
    /// </summary>
    internal static JsonObject? ReadModel(string idOrDir)
    {
        if (!ModelLocator.IsHubId(idOrDir))
        {
            return Read(idOrDir);
        }
        var dir = Modeling.BertPretrained.ResolveDirectory(idOrDir);
        return TypedModelNames.Load(idOrDir, dir, () => Read(dir));
    }

    /// <summary>
    /// The settings recorded in <paramref name="dir"/>: its training_args.json, else, in a fine-tuning's <c>checkpoint-N</c>
    /// (which holds none), the settings of its trainer_state.json when they name the run's task; null when neither does.
    /// </summary>
    /// <exception cref="BertSharpException">The file cannot be read, is not valid JSON, or is not a JSON object.</exception>
    public static JsonObject? Read(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (File.Exists(path))
        {
            return ReadObject(path, "the run's settings");
        }
        // training_args.json is written with the final model only: a checkpoint given as the model (one of --save-steps, or
        // the one an interrupted run names) keeps the same settings, task first, in its trainer state. A pre-training
        // checkpoint's settings name no task, and say nothing about fine-tuning.
        var state = Path.Combine(dir, CheckpointStateFileName);
        return File.Exists(state) && ReadObject(state, "the trainer state of a checkpoint")["settings"] is JsonObject settings && String(settings, "task") is not null
            ? settings
            : null;
    }

    /// <summary>The file of a checkpoint that holds its run's settings (the trainer's state), beside the model files.</summary>
    internal const string CheckpointStateFileName = "trainer_state.json";

    /// <summary>
    /// The file <see cref="Read"/> takes the settings of <paramref name="dir"/> from, for messages about a value in them:
    /// training_args.json unless only a checkpoint's trainer state holds them.
    /// </summary>
    internal static string PathIn(string dir)
    {
        var path = Path.Combine(dir, FileName);
        var state = Path.Combine(dir, CheckpointStateFileName);
        return !File.Exists(path) && File.Exists(state) ? state : path;
    }

    private static JsonObject ReadObject(string path, string what)
    {
        JsonNode? node;
        string? text = null;
        try
        {
            text = IO.TextLines.ReadAllText(path, what);
            StrictJson.RefuseLoneSurrogates(path, text);
            node = JsonNode.Parse(text, documentOptions: StrictJson.Options);
        }
        catch (JsonException e)
        {
            throw StrictJson.DuplicateKeyError(path, text!, e) ?? new BertSharpException($"{LineRef.NotValidJson(path, e)}; expected the JSON object of {what}.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BertSharpException($"{path}: cannot be read ({e.Message.Split('\n')[0]}).", e);
        }
        return node as JsonObject
            ?? throw new BertSharpException($"{path}: expected a JSON object of {what}, not {(node is null ? "null" : node.GetValueKind().ToString().ToLowerInvariant())}.");
    }

    /// <summary>A string setting, or null when absent or not a string.</summary>
    public static string? String(JsonObject? args, string name) =>
        args?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>A boolean setting, or null when absent or not a boolean.</summary>
    public static bool? Bool(JsonObject? args, string name) =>
        args?[name] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;

    /// <summary>A whole-number setting, or null when absent or not a whole number.</summary>
    public static int? Int(JsonObject? args, string name) =>
        args?[name] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;
}
