using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BertSharp.Server;

/// <summary>
/// Says what is wrong with a request body that could not be bound, in the API's own terms: the field (snake_case, as sent)
/// and what it should hold. System.Text.Json and the minimal-API binder speak of .NET types ("could not be converted to
/// BertSharp.Server.ClassifyRequest", "System.String[]", "Did you mean to use a Service instead?"), which a client
/// cannot act on; their exception carries the JSON path, and the endpoint's metadata the request type, which are enough.
/// </summary>
internal static partial class JsonBodyErrors
{
    public static string Describe(BadHttpRequestException e, HttpContext context)
    {
        // First: a body that is not UTF-8 fails wherever its first bad byte lands, and the reader's account of that (a lone
        // UTF-16 surrogate, an unknown field 'te\uFFFDxt', an invalid start of a value) sends the client after the wrong fault.
        if (context.Request.Body is MemoryStream buffered && buffered.TryGetBuffer(out var bytes))
        {
            if (InvalidUtf8(bytes) is { } bad)
            {
                return $"the body is not valid UTF-8 JSON: invalid UTF-8 at line {bad.Line}, byte {bad.Byte} (0x{bytes[bad.Offset]:X2}).";
            }
            // The binder's exception names a lone low surrogate, not a high one missing its low half, and not at all when
            // the escape is in a key: the body itself says which string holds it, as the files' readers say.
            if (IO.StrictJson.FindLoneSurrogate(bytes) is { } lone)
            {
                return $"{lone.Reason}.";
            }
        }
        var body = BodyText(context.Request);
        if (body is not null && string.IsNullOrWhiteSpace(body))
        {
            return "the body is empty; expected a JSON object.";
        }
        var json = e.InnerException as JsonException;
        if (json is null)
        {
            // The binder treats the JSON literal null as no body; anything else is passed on as it is.
            return body?.Trim() == "null" ? "expected a JSON object as the body, got null." : $"invalid request body: {e.Message}";
        }
        if (json.InnerException?.GetType().Name == "JsonReaderException")
        {
            // Malformed JSON: the reader's message is plain; its position is zero-based.
            var reason = json.Message.Split(" LineNumber:", 2)[0].Split(" Path:", 2)[0];
            return $"invalid JSON at line {json.LineNumber + 1}, byte {json.BytePositionInLine + 1}: {reason}";
        }
        var type = context.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;
        var fields = type is null ? null : JsonOptionsOf(context).GetTypeInfo(type).Properties.ToDictionary(p => p.Name, StringComparer.Ordinal);
        // The property the path leads to through nested objects (/zero-shot's parameters.multi_label), and the object that
        // holds it: the request type's own fields described a value inside parameters as "a value of another type".
        var (nested, nestedIndex, holder) = type is null ? default : Walk(JsonOptionsOf(context), type, json.Path);
        var unmapped = UnmappedProperty().Match(json.Message);
        if (unmapped.Success)
        {
            var names = holder?.Properties.Select(p => p.Name) ?? fields?.Keys;
            var known = names is null ? "" : $"; expected {string.Join(", ", names)}";
            return $"unknown field '{unmapped.Groups["name"].Value}'{known}.";
        }
        var duplicate = DuplicateProperty().Match(json.Message);
        if (duplicate.Success)
        {
            return $"field '{duplicate.Groups["name"].Value}' is given twice; give each field once.";
        }
        var (field, top, index) = Field(json.Path);
        if (field is null || top is null)
        {
            return "expected a JSON object as the body.";
        }
        if (fields is null || !fields.TryGetValue(top, out var property))
        {
            return $"{field}: invalid value.";
        }
        if (nested is not null)
        {
            (property, index) = (nested, nestedIndex);
        }
        // Its own converter reads the whole value, so the path ends at the field whatever inside it was wrong.
        if (property.CustomConverter is StringOrStrings)
        {
            return $"{field}: expected {StringOrStrings.Expected}.";
        }
        var propertyType = property.PropertyType;
        if (index)
        {
            propertyType = propertyType.IsArray ? propertyType.GetElementType()! : propertyType;
        }
        return $"{field}: expected {Expected(propertyType)}.";
    }

    /// <summary>The top-level field a binding failure is in (OpenAI's <c>param</c>), or null when it is in none.</summary>
    public static string? Param(BadHttpRequestException e) => e.InnerException is JsonException json ? Field(json.Path).Top : null;

    /// <summary>The options the binder used (they have a type resolver; <see cref="ServerJson.Options"/> may not yet).</summary>
    private static JsonSerializerOptions JsonOptionsOf(HttpContext context) =>
        context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;

    /// <summary>The body as buffered by the error middleware (null if it was not).</summary>
    private static string? BodyText(HttpRequest request) =>
        request.Body is MemoryStream ms ? System.Text.Encoding.UTF8.GetString(ms.ToArray()) : request.ContentLength == 0 ? "" : null;

    /// <summary>
    /// Where the first byte that does not start a valid UTF-8 sequence is: its offset, and its line and byte in the line
    /// (1-based, as the JSON errors count); null when all of <paramref name="bytes"/> is UTF-8.
    /// </summary>
    private static (int Offset, int Line, int Byte)? InvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < bytes.Length;)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[i..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return (i, line, i - lineStart + 1);
            }
            if (bytes[i] == (byte)'\n')
            {
                line++;
                lineStart = i + 1;
            }
            i += consumed;
        }
        return null;
    }

    /// <summary>
    /// The field as the client wrote it (<c>$.texts[2]</c> → <c>texts[2]</c>), its top-level property, and whether the
    /// path goes into an array element of it.
    /// </summary>
    private static (string? Field, string? Top, bool Index) Field(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return (null, null, false);
        }
        var m = JsonPath().Match(path);
        if (!m.Success)
        {
            return (null, null, false);
        }
        var top = m.Groups["dot"].Success ? m.Groups["dot"].Value : m.Groups["quoted"].Value;
        var rest = m.Groups["rest"].Value;
        return (top + rest, top, rest.StartsWith('['));
    }

    private static string Expected(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t == typeof(string))
        {
            return "a string";
        }
        if (t.IsArray && t.GetElementType() == typeof(string))
        {
            return "an array of strings";
        }
        if (t == typeof(int) || t == typeof(long))
        {
            return string.Create(CultureInfo.InvariantCulture, $"an integer (at most {(t == typeof(int) ? int.MaxValue : long.MaxValue)})");
        }
        if (t == typeof(bool))
        {
            return "true or false";
        }
        if (t == typeof(double) || t == typeof(float))
        {
            return "a number";
        }
        if (t.IsArray)
        {
            return "an array";
        }
        return t.IsClass ? "a JSON object (its fields are in /openapi.json)" : "a value of another type (see /openapi.json)";
    }

    /// <summary>
    /// Follows <paramref name="path"/> (<c>$.parameters.multi_label</c>) from <paramref name="type"/> through the objects it
    /// names: the property it ends at, whether it ends inside an array element of that property, and the object type whose
    /// fields the last name was looked up among (the one an unknown field is missing from). Property null: a name that the
    /// object lacks.
    /// </summary>
    private static (JsonPropertyInfo? Property, bool Index, JsonTypeInfo? Holder) Walk(JsonSerializerOptions options, Type type, string? path)
    {
        var holder = options.GetTypeInfo(type);
        JsonPropertyInfo? property = null;
        var index = false;
        foreach (Match segment in PathSegment().Matches(path ?? ""))
        {
            var name = segment.Groups["dot"].Success ? segment.Groups["dot"].Value : segment.Groups["quoted"].Success ? segment.Groups["quoted"].Value : null;
            if (name is null)
            {
                index = true;
                continue;
            }
            if (property is not null)
            {
                var inner = options.GetTypeInfo(Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType);
                if (inner.Kind != JsonTypeInfoKind.Object)
                {
                    break;
                }
                holder = inner;
            }
            property = holder.Properties.FirstOrDefault(p => p.Name == name);
            index = false;
            if (property is null)
            {
                break;
            }
        }
        // A path that stops at an object (an unknown field reported at its parent): that object holds the field.
        if (property is not null && !index && options.GetTypeInfo(Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType) is { Kind: JsonTypeInfoKind.Object } obj)
        {
            holder = obj;
        }
        return (property, index, holder);
    }

    [GeneratedRegex(@"^\$(?:\.(?<dot>[^.\[]+)|\['(?<quoted>[^']*)'\])(?<rest>.*)$")]
    private static partial Regex JsonPath();

    [GeneratedRegex(@"\.(?<dot>[^.\[]+)|\['(?<quoted>[^']*)'\]|\[\d+\]")]
    private static partial Regex PathSegment();

    [GeneratedRegex(@"The JSON property '(?<name>[^']*)' could not be mapped")]
    private static partial Regex UnmappedProperty();

    [GeneratedRegex(@"[Dd]uplicate property '(?<name>[^']*)'")]
    private static partial Regex DuplicateProperty();
}
