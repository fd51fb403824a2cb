using System.Text.Encodings.Web;
using System.Text.Json;

namespace BertSharp.Cli;

/// <summary>JSON output settings of the CLI: snake_case keys, no escaping of non-ASCII text, nulls left out.</summary>
internal static class CliJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
