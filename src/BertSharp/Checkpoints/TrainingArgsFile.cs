using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.IO;

namespace BertSharp.Checkpoints;

/// <summary>
/// <c>training_args.json</c> of a model directory fine-tuned by BertSharp: the run's settings in snake_case (HF's names),
/// written by every fine-tuning and read by evaluation, prediction and the CLI to follow what the model was trained with.
/// Reading is lenient: a missing file, or one of another tool's shape, says nothing about the run (null).
/// </summary>
public static class TrainingArgsFile
{
    /// <summary>The file's name in a model directory.</summary>
    public const string FileName = "training_args.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes <paramref name="args"/> into <paramref name="dir"/> atomically (indented, one trailing newline).</summary>
    public static void Write(string dir, JsonObject args)
    {
        ArgumentNullException.ThrowIfNull(args);
        AtomicFile.WriteAllText(Path.Combine(dir, FileName), args.ToJsonString(Indented) + "\n");
    }

    /// <summary>The settings recorded in <paramref name="dir"/>, or null when it has none (or they are not a JSON object).</summary>
    public static JsonObject? Read(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject;
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return null;
        }
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
