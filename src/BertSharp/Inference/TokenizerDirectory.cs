using System.Text.Json.Nodes;
using BertSharp.IO;
using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>
/// Reads and writes the tokenizer files HF keeps beside a BERT model (<c>vocab.txt</c>, <c>tokenizer_config.json</c>,
/// <c>special_tokens_map.json</c>), so a fine-tuned directory loads with <c>AutoTokenizer.from_pretrained</c>.
/// </summary>
public static class TokenizerDirectory
{
    /// <summary>Loads the tokenizer of a model directory: vocab.txt plus <c>do_lower_case</c>/<c>strip_accents</c>/<c>model_max_length</c>.</summary>
    public static BertTokenizer Load(string dir)
    {
        var vocab = Path.Combine(dir, "vocab.txt");
        if (!File.Exists(vocab))
        {
            throw new BertSharpException($"{dir}: no vocab.txt in this model directory; a BERT checkpoint needs its WordPiece vocabulary.");
        }
        var lowercase = true;
        bool? stripAccents = null;
        int? maxLength = null;
        var cfgPath = Path.Combine(dir, "tokenizer_config.json");
        if (File.Exists(cfgPath))
        {
            try
            {
                if (JsonNode.Parse(File.ReadAllText(cfgPath)) is JsonObject cfg)
                {
                    lowercase = cfg["do_lower_case"]?.GetValue<bool>() ?? true;
                    stripAccents = cfg["strip_accents"]?.GetValue<bool?>();
                    var m = cfg["model_max_length"]?.GetValue<double>();
                    maxLength = m is > 0 and < 1e9 ? (int)m : null;
                }
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
            {
                throw new BertSharpException($"{cfgPath}: not a valid tokenizer_config.json ({e.Message.Split('.')[0]}).", e);
            }
        }
        return new BertTokenizer(Vocabulary.Load(vocab), new NormalizerOptions(StripAccents: stripAccents, Lowercase: lowercase), modelMaxLength: maxLength);
    }

    /// <summary>Writes the tokenizer files into <paramref name="dir"/> (each atomically).</summary>
    public static void Save(BertTokenizer tokenizer, string dir, int modelMaxLength)
    {
        var s = tokenizer.Specials;
        AtomicFile.WriteAllText(Path.Combine(dir, "vocab.txt"), string.Join("\n", tokenizer.Vocab.Tokens) + "\n");
        var cfg = new JsonObject
        {
            ["clean_up_tokenization_spaces"] = true,
            ["cls_token"] = s.Cls,
            ["do_basic_tokenize"] = true,
            ["do_lower_case"] = tokenizer.Lowercase,
            ["mask_token"] = s.Mask,
            ["model_max_length"] = modelMaxLength,
            ["never_split"] = null,
            ["pad_token"] = s.Pad,
            ["sep_token"] = s.Sep,
            ["strip_accents"] = tokenizer.Normalizer.StripAccents,
            ["tokenize_chinese_chars"] = tokenizer.Normalizer.HandleChineseChars,
            ["tokenizer_class"] = "BertTokenizer",
            ["unk_token"] = s.Unk,
        };
        AtomicFile.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), cfg.ToJsonString(Json.Indented) + "\n");
        var map = new JsonObject { ["cls_token"] = s.Cls, ["mask_token"] = s.Mask, ["pad_token"] = s.Pad, ["sep_token"] = s.Sep, ["unk_token"] = s.Unk };
        AtomicFile.WriteAllText(Path.Combine(dir, "special_tokens_map.json"), map.ToJsonString(Json.Indented) + "\n");
    }

    /// <summary>
    /// Whether a vocabulary is uncased: no token outside the bracketed specials has an upper-case letter.
    /// </summary>
    public static bool LooksUncased(Vocabulary vocab) =>
        !vocab.Tokens.Any(t => !(t.StartsWith('[') && t.EndsWith(']')) && t.Any(char.IsUpper));
}

internal static class Json
{
    public static readonly System.Text.Json.JsonSerializerOptions Indented = new() { WriteIndented = true };
}
