using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace BertSharp.Modeling;

public sealed partial class BertConfig
{
    /// <summary>
    /// config.json through System.Text.Json: the properties of <see cref="BertConfig"/> are the fields (snake_case names, as HF
    /// writes them), and a field that does not parse becomes one line naming the file, the field, what it must be and what it is.
    /// </summary>
    private static class ConfigJson
    {
        public static readonly JsonSerializerOptions Options = new()
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
            Converters = { new IntegralNumber(), new FiniteNumber() },
        };

        /// <summary>How the file is written: HF's two-space indent.</summary>
        public static readonly JsonSerializerOptions Written = new() { WriteIndented = true, IndentSize = 2 };

        public static readonly JsonTypeInfo<BertConfig> TypeInfo = (JsonTypeInfo<BertConfig>)Options.GetTypeInfo(typeof(BertConfig));

        /// <summary>Integer fields with the range they must lie in (the upper limits stop hostile configs before allocation).</summary>
        public static readonly IReadOnlyDictionary<string, (int Min, int Max)> IntRanges = new Dictionary<string, (int, int)>(StringComparer.Ordinal)
        {
            ["vocab_size"] = (1, MaxVocabSize),
            ["hidden_size"] = (1, MaxHiddenSize),
            ["num_hidden_layers"] = (0, MaxLayers),
            ["num_attention_heads"] = (1, MaxHiddenSize),
            ["intermediate_size"] = (1, MaxIntermediateSize),
            ["max_position_embeddings"] = (1, MaxPositions),
            ["type_vocab_size"] = (1, MaxTypeVocabSize),
            ["pad_token_id"] = (0, int.MaxValue),
            ["num_labels"] = (1, MaxLabels),
        };

        /// <summary>What each field of the file must hold, in words, by field name (from the property's type).</summary>
        public static readonly IReadOnlyDictionary<string, string> Expected =
            TypeInfo.Properties.Where(p => !p.IsExtensionData).ToDictionary(p => p.Name, Describe, StringComparer.Ordinal);

        /// <summary>The value of the integer field <paramref name="key"/> of <paramref name="config"/>.</summary>
        public static object? IntValue(BertConfig config, string key) => TypeInfo.Properties.Single(p => p.Name == key).Get!(config);

        /// <summary>The top-level field a deserialization error points at (<c>$.vocab_size</c>, <c>$.id2label.a</c>, <c>$['a b']</c>).</summary>
        public static string? Field(string? path)
        {
            string? key = path switch
            {
                ['$', '.', .. var rest] => rest[..(rest.IndexOfAny(['.', '[']) is var i and >= 0 ? i : rest.Length)],
                ['$', '[', '\'', .. var rest] when rest.IndexOf("']", StringComparison.Ordinal) is var j and >= 0 => rest[..j],
                _ => null,
            };
            return key is not null && Expected.ContainsKey(key) ? key : null;
        }

        public static BertSharpException Bad(string source, string key, JsonNode? value, Exception? inner = null)
        {
            var message = $"{source}: field '{key}': expected {Expected[key]}, got {Shown(value)}.";
            return inner is null ? new BertSharpException(message) : new BertSharpException(message, inner);
        }

        /// <summary>
        /// id2label's names as strings. HF's run_glue.py on a dataset of boolean or numeric labels writes them as JSON values
        /// (<c>{"0": false, "1": true}</c>); they are read as their JSON text ("false", "3"), as a JSON-lines dataset's labels
        /// are, so the model predicts the names its data had. A name that is null, an object or an array is refused.
        /// </summary>
        public static void LabelNamesAsText(JsonObject fields, string source)
        {
            if (fields["id2label"] is not JsonObject labels)
            {
                return;
            }
            foreach (var (id, name) in labels.ToList())
            {
                switch (name?.GetValueKind())
                {
                    case JsonValueKind.String:
                        break;
                    case JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number:
                        labels[id] = name.ToJsonString();
                        break;
                    default:
                        throw new BertSharpException($"{source}: field 'id2label': the name of class \"{id}\" is {Shown(name)}; expected a string, a number or true/false.");
                }
            }
        }

        /// <summary>The value as the file has it, cut at 80 characters.</summary>
        public static string Shown(JsonNode? value)
        {
            var text = value?.ToJsonString() ?? "null";
            return text.Length > 80 ? text[..80] + "…" : text;
        }

        private static string Describe(JsonPropertyInfo p)
        {
            if (IntRanges.TryGetValue(p.Name, out var range))
            {
                return range.Max == int.MaxValue ? Invariant($"an integer >= {range.Min}") : Invariant($"an integer from {range.Min} to {range.Max} (the limit)");
            }
            var type = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            return type == typeof(double) ? "a number"
                : type == typeof(bool) ? "true or false"
                : type == typeof(string) ? "a string"
                : type == typeof(IList<string>) ? "a list of strings"
                : type == typeof(SortedDictionary<int, string>) ? "an object mapping class index to label name"
                : "any JSON value";
        }

        /// <summary>An integer, also when written with a zero fraction (768.0), as Python's json and HF accept it.</summary>
        private sealed class IntegralNumber : JsonConverter<int>
        {
            public override int Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
                reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue
                    ? (int)d
                    : throw new JsonException();

            public override void Write(Utf8JsonWriter writer, int value, JsonSerializerOptions options) => writer.WriteNumberValue(value);

            // id2label's keys: "0", "1", ... (no sign, no spaces).
            public override int ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
                int.TryParse(reader.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : throw new JsonException();

            public override void WriteAsPropertyName(Utf8JsonWriter writer, int value, JsonSerializerOptions options) =>
                writer.WritePropertyName(value.ToString(CultureInfo.InvariantCulture));
        }

        /// <summary>A finite number (a probability, a scale, an epsilon).</summary>
        private sealed class FiniteNumber : JsonConverter<double>
        {
            public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
                reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var d) && double.IsFinite(d) ? d : throw new JsonException();

            public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
        }
    }
}
