using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace BertSharp.IO;

/// <summary>
/// Parsing of the JSON files BertSharp reads back (config.json, tokenizer.json, tokenizer_config.json, training_args.json,
/// trainer_state.json, a pre-training manifest, a sharded checkpoint's index, SQuAD data, each line of JSONL data and of <c>bert tokenize</c> input): a key given twice in one object is an error naming the key. System.Text.Json would
/// otherwise keep both (JsonDocument: lookups find one of them) or fail later with an <see cref="ArgumentException"/>
/// (JsonNode, on first access), and Python's json keeps the last: the file means different things to different readers.
/// </summary>
internal static partial class StrictJson
{
    public static readonly JsonDocumentOptions Options = new() { AllowDuplicateProperties = false };

    /// <summary>
    /// The error for <paramref name="e"/>, thrown by a parse of <paramref name="utf8"/> with <see cref="Options"/>, when a
    /// duplicate key caused it ("FILE: duplicate key 'a.b'."); null for any other parse error.
    /// </summary>
    public static BertSharpException? DuplicateKeyError(string source, ReadOnlySpan<byte> utf8, JsonException e) =>
        DuplicateKey(utf8) is { } key ? new BertSharpException($"{source}: duplicate key '{key}'.", e) : null;

    /// <inheritdoc cref="DuplicateKeyError(string, ReadOnlySpan{byte}, JsonException)"/>
    public static BertSharpException? DuplicateKeyError(string source, string text, JsonException e) =>
        DuplicateKeyError(source, Encoding.UTF8.GetBytes(text), e);

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

    /// <summary>
    /// Reads <paramref name="path"/> as one JSON object of <typeparamref name="T"/>: strict UTF-8 (BOM skipped), nothing after
    /// the value, no key twice, every <c>[JsonRequired]</c> field present, and each value of its property's type (no null
    /// where the property is not nullable, nor in a list). Each failure is one line naming the file and the field.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="options">The serializer options the file is written with.</param>
    /// <param name="expected">What the file must be, in words, for the messages ("a trainer state").</param>
    public static T Read<T>(string path, JsonSerializerOptions options, string expected)
    {
        var node = Parse(path, expected);
        if (node is not JsonObject obj)
        {
            throw new BertSharpException($"{path}: expected {expected} (a JSON object), not {Shown(node)}.");
        }
        var info = options.GetTypeInfo(typeof(T));
        if (Unfit(obj, info, options, "") is { } bad)
        {
            throw bad.Missing
                ? new BertSharpException($"{path}: missing field '{bad.Field}'.")
                : new BertSharpException($"{path}: field '{bad.Field}': expected {Describe(bad.Type)}, got {Shown(bad.Value)}.");
        }
        try
        {
            return (T)obj.Deserialize(info)!;
        }
        catch (JsonException e)
        {
            var (field, type, value) = At(obj, info, options, e.Path);
            throw new BertSharpException($"{path}: field '{field}': expected {Describe(type)}, got {Shown(value)}.", e);
        }
    }

    /// <summary>
    /// The JSON value of the file <paramref name="path"/>: strict UTF-8 (BOM skipped), nothing after the value, no key twice, no
    /// lone surrogate; each failure one line naming the file and what it must be (<paramref name="expected"/>, in words).
    /// </summary>
    public static JsonNode? Parse(string path, string expected)
    {
        var text = TextLines.ReadAllText(path, expected);
        RefuseLoneSurrogates(path, text);
        try
        {
            return JsonNode.Parse(text, documentOptions: Options);
        }
        catch (JsonException e)
        {
            throw DuplicateKeyError(path, text, e)
                  ?? new BertSharpException($"{LineRef.NotValidJson(path, e)}; expected {expected}.", e);
        }
    }

    /// <summary>The first required field <paramref name="obj"/> lacks, or null list element it has, at any depth; null when none.</summary>
    private static (string Field, Type Type, JsonNode? Value, bool Missing)? Unfit(JsonObject obj, JsonTypeInfo info, JsonSerializerOptions options, string at)
    {
        foreach (var p in info.Properties)
        {
            var field = Join(at, p.Name);
            if (!obj.TryGetPropertyValue(p.Name, out var value))
            {
                if (p.IsRequired)
                {
                    return (field, p.PropertyType, null, true);
                }
                continue;
            }
            if (Inside(value, options.GetTypeInfo(p.PropertyType), options, field) is { } bad)
            {
                return bad;
            }
        }
        return null;
    }

    private static (string Field, Type Type, JsonNode? Value, bool Missing)? Inside(JsonNode? value, JsonTypeInfo info, JsonSerializerOptions options, string field)
    {
        if (value is JsonObject o && info.Kind == JsonTypeInfoKind.Object)
        {
            return Unfit(o, info, options, field);
        }
        if (value is JsonArray a && info.Kind == JsonTypeInfoKind.Enumerable && info.ElementType is { } element)
        {
            var elementInfo = options.GetTypeInfo(element);
            for (var i = 0; i < a.Count; i++)
            {
                // The serializer would put a null into the list, where nothing expects one.
                if (a[i] is null && !element.IsValueType)
                {
                    return (Invariant($"{field}[{i}]"), element, null, false);
                }
                if (Inside(a[i], elementInfo, options, Invariant($"{field}[{i}]")) is { } bad)
                {
                    return bad;
                }
            }
        }
        return null;
    }

    /// <summary>The field a serializer error points at (<c>$.shards[0].bytes</c>), its type and the value the file has there.</summary>
    private static (string Field, Type Type, JsonNode? Value) At(JsonObject root, JsonTypeInfo info, JsonSerializerOptions options, string? path)
    {
        JsonNode? node = root;
        var type = info.Type;
        var field = "";
        var rest = path is ['$', .. var r] ? r : "";
        while (rest.Length > 0)
        {
            if (rest is ['[', '\'', ..] && rest.IndexOf("']", StringComparison.Ordinal) is var close and >= 0)
            {
                Step(rest[2..close]);
                rest = rest[(close + 2)..];
            }
            else if (rest is ['[', ..] && rest.IndexOf(']', StringComparison.Ordinal) is var end and >= 0 && int.TryParse(rest[1..end], CultureInfo.InvariantCulture, out var index))
            {
                field += Invariant($"[{index}]");
                node = node is JsonArray a && index < a.Count ? a[index] : null;
                type = options.GetTypeInfo(type) is { ElementType: { } element } ? element : typeof(object);
                rest = rest[(end + 1)..];
            }
            else if (rest is ['.', .. var named])
            {
                var stop = named.IndexOfAny(['.', '[']);
                Step(stop < 0 ? named : named[..stop]);
                rest = stop < 0 ? "" : named[stop..];
            }
            else
            {
                break;
            }
        }
        return (field.Length == 0 ? "$" : field, type, node);

        void Step(string name)
        {
            field = Join(field, name);
            node = node is JsonObject o && o.TryGetPropertyValue(name, out var v) ? v : null;
            type = options.GetTypeInfo(type).Properties.FirstOrDefault(p => p.Name == name)?.PropertyType ?? typeof(object);
        }
    }

    private static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(int) || type == typeof(long) ? "an integer"
            : type == typeof(double) || type == typeof(float) ? "a number"
            : type == typeof(bool) ? "true or false"
            : type == typeof(string) ? "a string"
            : type == typeof(object) || type == typeof(JsonNode) ? "a JSON value"
            : type != typeof(JsonObject) && type.IsAssignableTo(typeof(System.Collections.IEnumerable)) ? "a list"
            : "an object";
    }

    /// <summary>The value as the file has it, cut at 80 characters (for messages).</summary>
    public static string Shown(JsonNode? value) => Cut(value?.ToJsonString() ?? "null");

    /// <inheritdoc cref="Shown(JsonNode?)"/>
    public static string Shown(JsonElement value) => Cut(value.GetRawText());

    private static string Cut(string text) => text.Length > 80 ? text[..80] + "…" : text;

    private static string Join(string path, string? key) => key is null ? path : path.Length == 0 ? key : path + "." + key;
}
