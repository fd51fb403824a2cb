using System.Text.Json;
using System.Text.Json.Serialization;

namespace BertSharp.Server;

/// <summary>
/// A field that takes one string or an array of strings, as HF's fill-mask pipeline takes its targets
/// (<c>if isinstance(targets, str): targets = [targets]</c>): a lone string reads as an array of that string. A null entry is
/// kept for the endpoint to refuse by its index, as null entries of <c>texts</c> are; anything else fails binding, which
/// <see cref="JsonBodyErrors"/> words with <see cref="Expected"/>.
/// </summary>
internal sealed class StringOrStrings : JsonConverter<string[]>
{
    /// <summary>What the field holds, as a 400 says it.</summary>
    public const string Expected = "a string or an array of strings";

    // The arrays read from a lone string, so that an endpoint names its fault by the field ('input') rather than by an entry
    // of a list that was never sent ('input[0]'). Weak: an array is forgotten with its request.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<string[], object> Lone = [];

    /// <summary>Whether <paramref name="values"/> was read from a lone string rather than from an array.</summary>
    public static bool IsLone(string[] values) => Lone.TryGetValue(values, out _);

    public override string[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            string[] one = [reader.GetString()!];
            Lone.Add(one, Expected);
            return one;
        }
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException();
        }
        var items = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            items.Add(reader.TokenType switch
            {
                JsonTokenType.String => reader.GetString()!,
                JsonTokenType.Null => null!,
                _ => throw new JsonException(),
            });
        }
        return [.. items];
    }

    public override void Write(Utf8JsonWriter writer, string[] value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartArray();
        foreach (var item in value)
        {
            writer.WriteStringValue(item);
        }
        writer.WriteEndArray();
    }
}
