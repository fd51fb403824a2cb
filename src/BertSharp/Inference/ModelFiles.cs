using System.Text.Json.Nodes;
using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>Reads the tokenizer a model directory carries (HF layout: <c>vocab.txt</c> + <c>tokenizer_config.json</c>).</summary>
public static class ModelFiles
{
    /// <summary>
    /// Loads the tokenizer of <paramref name="modelDir"/>: <c>vocab.txt</c>, and from <c>tokenizer_config.json</c> (when present)
    /// <c>do_lower_case</c> (default true), <c>strip_accents</c>, <c>tokenize_chinese_chars</c> and <c>model_max_length</c>.
    /// </summary>
    public static BertTokenizer LoadTokenizer(string modelDir)
    {
        var vocabPath = Path.Combine(modelDir, "vocab.txt");
        if (!File.Exists(vocabPath))
        {
            throw new BertSharpException($"{modelDir}: no vocab.txt; a model directory needs its tokenizer's vocabulary.");
        }
        var lower = true;
        bool? strip = null;
        var chinese = true;
        int? maxLength = null;
        var configPath = Path.Combine(modelDir, "tokenizer_config.json");
        if (File.Exists(configPath))
        {
            JsonObject cfg;
            try
            {
                cfg = JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject
                      ?? throw new BertSharpException($"{configPath}: expected a JSON object.");
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new BertSharpException($"{configPath}: invalid JSON ({e.Message}).");
            }
            lower = Bool(cfg, "do_lower_case", configPath) ?? true;
            strip = Bool(cfg, "strip_accents", configPath);
            chinese = Bool(cfg, "tokenize_chinese_chars", configPath) ?? true;
            // HF writes a huge sentinel (int(1e30)) when the length is unknown.
            if (cfg["model_max_length"] is JsonValue v && v.TryGetValue<double>(out var m) && m is > 0 and < 1e9)
            {
                maxLength = (int)m;
            }
        }
        var normalizer = new NormalizerOptions(HandleChineseChars: chinese, StripAccents: strip, Lowercase: lower);
        return new BertTokenizer(Vocabulary.Load(vocabPath), normalizer, modelMaxLength: maxLength);
    }

    private static bool? Bool(JsonObject cfg, string key, string path) => cfg[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        _ => throw new BertSharpException($"{path}: '{key}' must be true, false or null."),
    };
}
