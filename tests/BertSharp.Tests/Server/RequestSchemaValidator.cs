using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace BertSharp.Tests.Server;

/// <summary>
/// Whether a JSON value is valid against a JSON Schema 2020-12 schema of the server's OpenAPI document, for the keywords its
/// request schemas use. Any other keyword throws: a validator that skipped one would pass bodies the document refuses, and
/// the tests comparing the document with the server would agree with it falsely.
/// </summary>
internal static class RequestSchemaValidator
{
    // Annotations: they say nothing about validity.
    private static readonly HashSet<string> Ignored = new(StringComparer.Ordinal) { "description", "format", "title", "examples" };

    public static bool IsValid(JsonObject schema, JsonNode? value)
    {
        foreach (var (keyword, arg) in schema)
        {
            if (!Ignored.Contains(keyword) && !Holds(keyword, arg!, value))
            {
                return false;
            }
        }
        return true;
    }

    private static bool Holds(string keyword, JsonNode arg, JsonNode? value) => keyword switch
    {
        "type" => (arg is JsonArray types ? types.Select(t => (string)t!) : [(string)arg!]).Any(t => IsType(t, value)),
        "enum" => arg.AsArray().Any(e => JsonNode.DeepEquals(e, value)),
        "required" => value is not JsonObject o || arg.AsArray().All(n => o.ContainsKey((string)n!)),
        "properties" => value is not JsonObject o || o.All(p => arg[p.Key] is not JsonObject s || IsValid(s, p.Value)),
        "additionalProperties" => value is not JsonObject o || (bool)arg! || o.All(p => arg.Parent!["properties"]?[p.Key] is not null),
        "dependentRequired" => value is not JsonObject o || arg.AsObject().All(d => !o.ContainsKey(d.Key) || d.Value!.AsArray().All(n => o.ContainsKey((string)n!))),
        "oneOf" => arg.AsArray().Count(b => IsValid(b!.AsObject(), value)) == 1,
        "items" => value is not JsonArray a || a.All(item => IsValid(arg.AsObject(), item)),
        "minItems" => value is not JsonArray a || a.Count >= (int)arg,
        "maxItems" => value is not JsonArray a || a.Count <= (int)arg,
        // UTF-16 units, not code points as JSON Schema counts: the tests' strings are ASCII.
        "minLength" => String(value) is not { } s || s.Length >= (int)arg,
        "pattern" => String(value) is not { } s || Regex.IsMatch(s, (string)arg!, RegexOptions.ECMAScript),
        "minimum" => Number(value) is not { } d || d >= (double)arg,
        "maximum" => Number(value) is not { } d || d <= (double)arg,
        _ => throw new NotSupportedException($"the request schema uses the keyword '{keyword}', which this validator does not check."),
    };

    private static bool IsType(string type, JsonNode? value)
    {
        var kind = value?.GetValueKind() ?? JsonValueKind.Null;
        return type switch
        {
            "null" => kind == JsonValueKind.Null,
            "string" => kind == JsonValueKind.String,
            "boolean" => kind is JsonValueKind.True or JsonValueKind.False,
            "number" => kind == JsonValueKind.Number,
            "integer" => kind == JsonValueKind.Number && Number(value) is { } d && d == Math.Floor(d),
            "array" => kind == JsonValueKind.Array,
            "object" => kind == JsonValueKind.Object,
            _ => throw new NotSupportedException($"unknown JSON Schema type '{type}'."),
        };
    }

    private static string? String(JsonNode? value) => value?.GetValueKind() == JsonValueKind.String ? (string)value! : null;

    private static double? Number(JsonNode? value) => value?.GetValueKind() == JsonValueKind.Number ? (double)value! : null;
}
