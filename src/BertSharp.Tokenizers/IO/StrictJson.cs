using System.Text.Json;

namespace BertSharp.IO;

/// <summary>
/// Parsing of the JSON files a model directory holds (config.json, tokenizer.json, tokenizer_config.json,
/// training_args.json, SQuAD data): a key given twice in one object is an error naming the key. System.Text.Json would
/// otherwise keep both (JsonDocument: lookups find one of them) or fail later with an <see cref="ArgumentException"/>
/// (JsonNode, on first access), and Python's json keeps the last: the file means different things to different readers.
/// </summary>
internal static class StrictJson
{
    public static readonly JsonDocumentOptions Options = new() { AllowDuplicateProperties = false };

    /// <summary>
    /// The error for <paramref name="e"/>, thrown by a parse of <paramref name="utf8"/> with <see cref="Options"/>, when a
    /// duplicate key caused it ("FILE: duplicate key 'a.b'."); null for any other parse error.
    /// </summary>
    public static BertSharpException? DuplicateKeyError(string source, ReadOnlySpan<byte> utf8, JsonException e) =>
        DuplicateKey(utf8) is { } key ? new BertSharpException($"{source}: duplicate key '{key}'.", e) : null;

    /// <summary>The first key an object of <paramref name="utf8"/> repeats, as a dotted path from the root; null when none does.</summary>
    public static string? DuplicateKey(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8);
        // One entry per open container: the keys seen so far (null for an array) and the path to it.
        var open = new Stack<(HashSet<string>? Keys, string Path)>();
        string? property = null;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        var path = open.Count == 0 ? "" : Join(open.Peek().Path, property);
                        open.Push((reader.TokenType == JsonTokenType.StartObject ? new HashSet<string>(StringComparer.Ordinal) : null, path));
                        property = null;
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        open.Pop();
                        property = null;
                        break;
                    case JsonTokenType.PropertyName:
                        property = reader.GetString()!;
                        if (!open.Peek().Keys!.Add(property))
                        {
                            return Join(open.Peek().Path, property);
                        }
                        break;
                    default:
                        property = null;
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // Not valid JSON before any duplicate: the caller's own message says so.
        }
        return null;
    }

    private static string Join(string path, string? key) => key is null ? path : path.Length == 0 ? key : path + "." + key;
}
