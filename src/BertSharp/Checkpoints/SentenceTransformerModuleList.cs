using System.Text.Json.Nodes;
using BertSharp.IO;

namespace BertSharp.Checkpoints;

/// <summary>
/// sentence-transformers' <c>modules.json</c>: the modules its <c>encode</c> runs after the transformer. Read both by the
/// embedding commands (a model directory's pooling and normalisation) and by the Hub download (which Pooling configs to
/// fetch), so that the two agree on what the file means and which paths it may name.
/// </summary>
internal sealed class SentenceTransformerModuleList
{
    public const string FileName = "modules.json";

    private SentenceTransformerModuleList(IReadOnlyList<string> poolingDirs, bool normalize)
    {
        PoolingDirs = poolingDirs;
        Normalize = normalize;
    }

    /// <summary>The <c>path</c> of each Pooling module, in the file's order ('/'-separated, relative to the model directory).</summary>
    public IReadOnlyList<string> PoolingDirs { get; }

    /// <summary>Whether the list has a Normalize module.</summary>
    public bool Normalize { get; }

    /// <summary>
    /// Parses the modules.json at <paramref name="path"/>. A file that is not the JSON sentence-transformers writes, or a Pooling
    /// module whose path leaves the model directory (absolute, <c>..</c>), is refused in one line naming the file and field:
    /// the Hub download would write that module's config outside its snapshot, and a directory's reader read it from elsewhere.
    /// </summary>
    public static SentenceTransformerModuleList Read(string path)
    {
        const string expected = "a list of sentence-transformers modules ([{\"type\": ..., \"path\": ...}, ...])";
        if (StrictJson.Parse(path, expected) is not JsonArray modules)
        {
            throw new BertSharpException($"{path}: expected {expected}.");
        }
        var pooling = new List<string>();
        var normalize = false;
        for (var i = 0; i < modules.Count; i++)
        {
            var at = Invariant($"[{i}]");
            var type = Text(path, modules[i], at, "type");
            // The class's module moved between sentence-transformers versions; its name did not.
            switch (type[(type.LastIndexOf('.') + 1)..])
            {
                case "Pooling":
                    pooling.Add(InsideModel(path, Text(path, modules[i], at, "path"), at));
                    break;
                case "Normalize":
                    normalize = true;
                    break;
            }
        }
        return new SentenceTransformerModuleList(pooling, normalize);
    }

    private static string InsideModel(string path, string dir, string at)
    {
        var parts = dir.Split('/');
        if (Path.IsPathRooted(dir) || dir.Contains('\\', StringComparison.Ordinal) || dir.Contains(':', StringComparison.Ordinal)
            || parts.Any(p => p is "" or "." or ".."))
        {
            throw new BertSharpException(
                $"{path}: field '{at}.path': expected a folder inside the model such as \"1_Pooling\" ('/'-separated, no '.' or '..' part, not absolute), got {StrictJson.Shown(JsonValue.Create(dir))}.");
        }
        return dir;
    }

    private static string Text(string path, JsonNode? module, string at, string field)
    {
        if (module is not JsonObject o)
        {
            throw new BertSharpException($"{path}: field '{at}': expected an object, got {StrictJson.Shown(module)}.");
        }
        return o[field] is JsonValue v && v.TryGetValue<string>(out var s)
            ? s
            : throw new BertSharpException(o.ContainsKey(field)
                ? $"{path}: field '{at}.{field}': expected a string, got {StrictJson.Shown(o[field])}."
                : $"{path}: missing field '{at}.{field}'.");
    }
}
