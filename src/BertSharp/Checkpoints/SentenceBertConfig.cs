using System.Text.Json.Nodes;
using BertSharp.IO;

namespace BertSharp.Checkpoints;

/// <summary>
/// sentence-transformers' <c>sentence_bert_config.json</c>, the Transformer module's settings beside modules.json: its
/// <c>max_seq_length</c> is where <c>encode</c> cuts every input when the user sets no length (256 for all-MiniLM-L6-v2,
/// below the tokenizer's 512), so the embedding commands default to it and the Hub download fetches it.
/// </summary>
internal static class SentenceBertConfig
{
    public const string FileName = "sentence_bert_config.json";

    /// <summary>
    /// The file's <c>max_seq_length</c>: null when the file is absent or the field is absent or null (sentence-transformers
    /// then falls back to the tokenizer's length, as BertSharp does). Anything but a JSON object with a whole number of at least
    /// 3 there is refused in one line naming the file and field.
    /// </summary>
    public static int? ReadMaxSeqLength(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        const string expected = "a sentence-transformers config ({\"max_seq_length\": 256, ...})";
        if (StrictJson.Parse(path, expected) is not JsonObject config)
        {
            throw new BertSharpException($"{path}: expected {expected}.");
        }
        if (!config.TryGetPropertyValue("max_seq_length", out var value) || value is null)
        {
            return null;
        }
        return value is JsonValue v && v.TryGetValue<int>(out var n) && n >= 3
            ? n
            : throw new BertSharpException(
                $"{path}: field 'max_seq_length': expected a whole number of tokens, at least 3 ([CLS], one token, [SEP]), got {StrictJson.Shown(value)}.");
    }
}
