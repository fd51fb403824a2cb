using System.Text.Json;

namespace BertSharp.Cli;

/// <summary>
/// JSON output settings of the CLI: snake_case keys, non-ASCII text left readable but bidirectional controls escaped
/// (<see cref="TerminalJsonEncoder"/>), nulls left out.
/// </summary>
internal static class CliJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = TerminalJsonEncoder.Instance,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
