using System.Text.Json;
using System.Text.Json.Serialization;

namespace BertSharp.Server;

/// <summary>
/// JSON settings of the API: snake_case, unknown and repeated fields rejected, nulls omitted, non-ASCII text readable with
/// bidirectional controls escaped (<see cref="TerminalJsonEncoder"/>: responses are read in terminals too).
/// </summary>
internal static class ServerJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        o.PropertyNameCaseInsensitive = false;
        o.NumberHandling = JsonNumberHandling.Strict;
        o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        // {"text": "a", "text": "b"} was answered for "b" alone: a client that merged two requests by mistake got no error.
        o.AllowDuplicateProperties = false;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        o.Encoder = TerminalJsonEncoder.Instance;
        return o;
    }
}
