using System.Text.Json;

namespace BertSharp;

/// <summary>
/// How BertSharp writes the JSON files people open to read (metrics.json, training_args.json, an output directory's
/// marker): indented, with <see cref="TerminalJsonEncoder"/>'s escaping. The default encoder wrote a note's 'labels' as
/// \u0027labels\u0027 and every accented or CJK label name as \uXXXX; parsed back, both read the same.
/// </summary>
internal static class ReadableJson
{
    /// <summary>Indented, readable escaping.</summary>
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = TerminalJsonEncoder.Instance };
}
