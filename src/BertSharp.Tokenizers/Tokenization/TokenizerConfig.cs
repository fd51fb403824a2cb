using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.IO;

namespace BertSharp.Tokenization;

/// <summary>The parts of transformers' <c>tokenizer_config.json</c> a BERT tokenizer uses.</summary>
internal sealed record TokenizerConfig
{
    public const string FileName = "tokenizer_config.json";

    public bool? DoLowerCase { get; init; }

    public bool? StripAccents { get; init; }

    public bool? TokenizeChineseChars { get; init; }

    public int? ModelMaxLength { get; init; }

    public string? Unk { get; init; }

    public string? Cls { get; init; }

    public string? Sep { get; init; }

    public string? Pad { get; init; }

    public string? Mask { get; init; }

    public static TokenizerConfig Load(string path)
    {
        using var doc = BertTokenizer.ReadJson(path);
        var r = doc.RootElement;
        if (r.ValueKind != JsonValueKind.Object)
        {
            throw new BertSharpException($"{path}: expected a JSON object.");
        }
        // A value of the wrong kind is an error rather than the default: "do_lower_case": "yes" or "model_max_length": -5
        // would otherwise change how every text is tokenized or cut without a word.
        return new TokenizerConfig
        {
            DoLowerCase = Flag(r, "do_lower_case", path),
            StripAccents = Flag(r, "strip_accents", path),
            TokenizeChineseChars = Flag(r, "tokenize_chinese_chars", path),
            ModelMaxLength = MaxLength(r, path),
            Unk = Token(r, "unk_token", path),
            Cls = Token(r, "cls_token", path),
            Sep = Token(r, "sep_token", path),
            Pad = Token(r, "pad_token", path),
            Mask = Token(r, "mask_token", path),
        };
    }

    private static int? MaxLength(JsonElement r, string path)
    {
        if (!r.TryGetProperty("model_max_length", out var m) || m.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (m.ValueKind == JsonValueKind.Number && m.TryGetDouble(out var d) && d >= 1 && d == Math.Floor(d))
        {
            // transformers writes a huge sentinel (int(1e30)) when the length is unknown.
            return d <= int.MaxValue ? (int)d : null;
        }
        throw Bad(path, "model_max_length", "a positive integer", m);
    }

    private static bool? Flag(JsonElement r, string name, string path) =>
        !r.TryGetProperty(name, out var v) ? null : v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Null => null,
            _ => throw Bad(path, name, "true or false", v),
        };

    /// <summary>A special token given either as a string or as a serialized AddedToken object.</summary>
    private static string? Token(JsonElement r, string name, string path) =>
        !r.TryGetProperty(name, out var v) ? null : v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Null => null,
            JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
            _ => throw Bad(path, name, "a string or an AddedToken object with a string \"content\"", v),
        };

    private static BertSharpException Bad(string path, string name, string expected, JsonElement value)
    {
        var text = value.GetRawText();
        return new BertSharpException($"{path}: field '{name}': expected {expected}, got {(text.Length > 80 ? text[..80] + "…" : text)}.");
    }

    public NormalizerOptions Apply(NormalizerOptions n) => n with
    {
        Lowercase = DoLowerCase ?? n.Lowercase,
        StripAccents = DoLowerCase is null && StripAccents is null ? n.StripAccents : StripAccents,
        HandleChineseChars = TokenizeChineseChars ?? n.HandleChineseChars,
    };

    public SpecialTokens Apply(SpecialTokens s) =>
        new(Unk ?? s.Unk, Cls ?? s.Cls, Sep ?? s.Sep, Pad ?? s.Pad, Mask ?? s.Mask);

    public static TokenizerConfig From(BertTokenizer tok) => new()
    {
        DoLowerCase = tok.Lowercase,
        StripAccents = tok.Normalizer.StripAccents,
        TokenizeChineseChars = tok.Normalizer.HandleChineseChars,
        ModelMaxLength = tok.ModelMaxLength,
        Unk = tok.Specials.Unk,
        Cls = tok.Specials.Cls,
        Sep = tok.Specials.Sep,
        Pad = tok.Specials.Pad,
        Mask = tok.Specials.Mask,
    };

    public void Save(string path)
    {
        var o = new JsonObject
        {
            ["tokenizer_class"] = "BertTokenizer",
            ["do_lower_case"] = DoLowerCase,
            ["strip_accents"] = StripAccents,
            ["tokenize_chinese_chars"] = TokenizeChineseChars,
            ["clean_up_tokenization_spaces"] = true,
            ["unk_token"] = Unk,
            ["sep_token"] = Sep,
            ["pad_token"] = Pad,
            ["cls_token"] = Cls,
            ["mask_token"] = Mask,
        };
        if (ModelMaxLength is int ml)
        {
            o["model_max_length"] = ml;
        }
        AtomicFile.WriteAllText(path, o.ToJsonString(Indented) + "\n");
    }

    public static void SaveSpecialTokensMap(BertTokenizer tok, string path)
    {
        var o = new JsonObject
        {
            ["unk_token"] = tok.Specials.Unk,
            ["sep_token"] = tok.Specials.Sep,
            ["pad_token"] = tok.Specials.Pad,
            ["cls_token"] = tok.Specials.Cls,
            ["mask_token"] = tok.Specials.Mask,
        };
        AtomicFile.WriteAllText(path, o.ToJsonString(Indented) + "\n");
    }

    internal static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
