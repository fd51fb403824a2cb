using System.Text.Json.Nodes;
using BertSharp.IO;

namespace BertSharp.Checkpoints;

/// <summary>
/// sentence-transformers' <c>sentence_bert_config.json</c>, the Transformer module's settings beside modules.json: its
/// <c>max_seq_length</c> is where <c>encode</c> cuts every input when the user sets no length (256 for all-MiniLM-L6-v2,
/// below the tokenizer's 512), so the embedding commands default to it and the Hub download fetches it; its
/// <c>do_lower_case</c> makes the Transformer module lower-case every input before tokenizing (models/Transformer.py).
/// </summary>
/// <param name="MaxSeqLength">
/// The file's <c>max_seq_length</c>: null when the file is absent or the field is absent or null (sentence-transformers then
/// falls back to the tokenizer's length, as BertSharp does).
/// </param>
/// <param name="DoLowerCase">The file's <c>do_lower_case</c>: false when the file or the field is absent or null, as the module's default.</param>
internal sealed record SentenceBertConfig(int? MaxSeqLength, bool DoLowerCase)
{
    public const string FileName = "sentence_bert_config.json";

    /// <summary>
    /// Reads <paramref name="path"/>, if it exists. Anything but a JSON object, a <c>max_seq_length</c> other than a whole number
    /// of at least 3 (or null), or a <c>do_lower_case</c> other than a boolean (or null) is refused in one line naming the file and field.
    /// </summary>
    public static SentenceBertConfig Read(string path)
    {
        if (!File.Exists(path))
        {
            return new(null, false);
        }
        const string expected = "a sentence-transformers config ({\"max_seq_length\": 256, ...})";
        if (StrictJson.Parse(path, expected) is not JsonObject config)
        {
            throw new BertSharpException($"{path}: expected {expected}.");
        }
        // sentence-transformers passes do_lower_case to the module as saved and tests it for truth: a string "false" would
        // lower-case, so anything but a boolean (or null, the module's default as for max_seq_length) is refused rather than guessed at.
        var lower = false;
        if (config.TryGetPropertyValue("do_lower_case", out var flag) && flag is not null && (flag is not JsonValue f || !f.TryGetValue(out lower)))
        {
            throw new BertSharpException($"{path}: field 'do_lower_case': expected true or false, got {StrictJson.Shown(flag)}.");
        }
        if (!config.TryGetPropertyValue("max_seq_length", out var value) || value is null)
        {
            return new(null, lower);
        }
        return value is JsonValue v && v.TryGetValue<int>(out var n) && n >= 3
            ? new(n, lower)
            : throw new BertSharpException(
                $"{path}: field 'max_seq_length': expected a whole number of tokens, at least 3 ([CLS], one token, [SEP]), got {StrictJson.Shown(value)}.");
    }
}
