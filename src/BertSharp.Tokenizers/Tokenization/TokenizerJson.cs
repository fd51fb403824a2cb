using System.Text.Json;
using BertSharp.IO;

namespace BertSharp.Tokenization;

public sealed partial class BertTokenizer
{
    /// <summary>
    /// Loads an HF <c>tokenizer.json</c> with a WordPiece model, <c>BertNormalizer</c> and <c>BertPreTokenizer</c>. A sibling
    /// <c>tokenizer_config.json</c> overrides lowercasing/accents/CJK handling and special-token names as transformers'
    /// <c>BertTokenizerFast</c> does.
    /// </summary>
    public static BertTokenizer FromTokenizerJson(string path)
    {
        using var doc = ReadJson(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new BertSharpException($"{path}: expected a JSON object.");
        }
        var model = Required(root, "model", path);
        if (model.ValueKind != JsonValueKind.Object)
        {
            throw new BertSharpException($"{path}: model: expected an object, got {Shown(model)}.");
        }
        var type = OptionalString(model, "type", "model.type", path) ?? "WordPiece";
        if (type != "WordPiece")
        {
            throw new BertSharpException($"{path}: model.type is '{type}'; only WordPiece (BERT) tokenizers are supported.");
        }
        var prefix = OptionalString(model, "continuing_subword_prefix", "model.continuing_subword_prefix", path) ?? WordPiece.Prefix;
        if (prefix != WordPiece.Prefix)
        {
            throw new BertSharpException($"{path}: model.continuing_subword_prefix is '{prefix}'; only '##' is supported.");
        }
        var vocab = ReadVocab(Required(model, "vocab", path), path);
        var unk = model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString()! : "[UNK]";
        var maxChars = 100;
        if (model.TryGetProperty("max_input_chars_per_word", out var m) && m.ValueKind != JsonValueKind.Null
            && (m.ValueKind != JsonValueKind.Number || !m.TryGetInt32(out maxChars) || maxChars < 1))
        {
            throw new BertSharpException($"{path}: model.max_input_chars_per_word: expected a positive integer, got {Shown(m)}.");
        }

        var normalizer = new NormalizerOptions();
        if (root.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object)
        {
            var ntype = OptionalString(n, "type", "normalizer.type", path);
            if (ntype != "BertNormalizer")
            {
                throw new BertSharpException($"{path}: normalizer.type is '{ntype}'; only BertNormalizer is supported.");
            }
            normalizer = new NormalizerOptions(
                CleanText: Bool(n, "clean_text") ?? true,
                HandleChineseChars: Bool(n, "handle_chinese_chars") ?? true,
                StripAccents: Bool(n, "strip_accents"),
                Lowercase: Bool(n, "lowercase") ?? true);
        }
        if (root.TryGetProperty("pre_tokenizer", out var ptok) && ptok.ValueKind == JsonValueKind.Object
            && OptionalString(ptok, "type", "pre_tokenizer.type", path) is { } ptype && ptype != "BertPreTokenizer")
        {
            throw new BertSharpException($"{path}: pre_tokenizer.type is '{ptype}'; only BertPreTokenizer is supported.");
        }
        var (cls, sep) = PostProcessorTokens(root, path);
        var cleanup = !(root.TryGetProperty("decoder", out var dec) && dec.ValueKind == JsonValueKind.Object && Bool(dec, "cleanup") == false);

        var specials = new SpecialTokens(Unk: unk, Cls: cls ?? "[CLS]", Sep: sep ?? "[SEP]");
        int? modelMaxLength = null;
        var configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, TokenizerConfig.FileName);
        if (File.Exists(configPath))
        {
            var config = TokenizerConfig.Load(configPath);
            normalizer = config.Apply(normalizer);
            specials = config.Apply(specials);
            modelMaxLength = config.ModelMaxLength;
        }
        RequireUnk(vocab, specials, path);
        return new BertTokenizer(vocab, normalizer, specials, maxChars, modelMaxLength) { DecoderCleanup = cleanup };
    }

    /// <summary>
    /// Loads a tokenizer directory: <c>tokenizer.json</c> when present, otherwise <c>vocab.txt</c> with
    /// <c>tokenizer_config.json</c> (<c>do_lower_case</c>, <c>strip_accents</c>, <c>tokenize_chinese_chars</c>, special tokens).
    /// </summary>
    public static BertTokenizer FromDirectory(string dir)
    {
        // A null dir read as a missing directory named "": ": tokenizer directory not found."
        ArgumentNullException.ThrowIfNull(dir);
        if (!Directory.Exists(dir))
        {
            throw new BertSharpException($"{dir}: tokenizer directory not found.");
        }
        var json = Path.Combine(dir, TokenizerJsonFile);
        if (File.Exists(json))
        {
            return FromTokenizerJson(json);
        }
        var vocabPath = Path.Combine(dir, VocabFile);
        if (!File.Exists(vocabPath))
        {
            throw new BertSharpException($"{dir}: has neither tokenizer.json nor vocab.txt.");
        }
        var configPath = Path.Combine(dir, TokenizerConfig.FileName);
        var config = File.Exists(configPath) ? TokenizerConfig.Load(configPath) : new TokenizerConfig();
        var vocab = Vocabulary.Load(vocabPath);
        // Without do_lower_case the vocabulary decides (LowercaseRule): a cased vocab.txt is not lower-cased behind the user's back.
        var normalizer = new NormalizerOptions(Lowercase: config.DoLowerCase ?? LowercaseRule.LooksUncased(vocab));
        var specials = config.Apply(new SpecialTokens());
        RequireUnk(vocab, specials, vocabPath);
        return new BertTokenizer(vocab, config.Apply(normalizer), specials, modelMaxLength: config.ModelMaxLength);
    }

    /// <summary>
    /// The names of the files <see cref="FromDirectory"/> (and <see cref="LowercaseRule"/> for a directory) reads, of those
    /// <paramref name="exists"/> says the directory holds: tokenizer.json, or else vocab.txt, and tokenizer_config.json.
    /// A file not among them (special_tokens_map.json; vocab.txt beside a tokenizer.json) changes nothing the tokenizer does.
    /// </summary>
    internal static IReadOnlyList<string> DirectoryFiles(Func<string, bool> exists) =>
        [.. new[] { exists(TokenizerJsonFile) ? TokenizerJsonFile : VocabFile, TokenizerConfig.FileName }.Where(exists)];

    private const string TokenizerJsonFile = "tokenizer.json";

    private const string VocabFile = "vocab.txt";

    /// <summary>
    /// Loads from whatever <paramref name="path"/> is: a directory (<see cref="FromDirectory"/>), a <c>tokenizer.json</c>,
    /// or a <c>vocab.txt</c>. <paramref name="lowercase"/>, when given, overrides the stored setting (accent stripping then
    /// follows it, as HF's default does); without it <see cref="LowercaseRule"/> decides.
    /// </summary>
    public static BertTokenizer FromPath(string path, bool? lowercase = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!Directory.Exists(path) && !File.Exists(path))
        {
            throw new BertSharpException($"{path}: no such vocabulary file or tokenizer directory.");
        }
        if (!Directory.Exists(path) && !path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            return FromVocabFile(path, lowercase ?? LowercaseRule.Resolve(path, null).Lowercase);
        }
        var tok = Directory.Exists(path) ? FromDirectory(path) : FromTokenizerJson(path);
        if (lowercase is bool lower && lower != tok.Lowercase)
        {
            return new BertTokenizer(tok.Vocab, tok.Normalizer with { Lowercase = lower, StripAccents = null }, tok.Specials,
                tok.MaxInputCharsPerWord, tok.ModelMaxLength) { DecoderCleanup = tok.DecoderCleanup };
        }
        return tok;
    }

    /// <summary>
    /// Writes <c>vocab.txt</c>, <c>tokenizer.json</c>, <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c>
    /// into <paramref name="directory"/> (each file atomically; other files in the directory are left alone).
    /// </summary>
    /// <exception cref="PathException"><paramref name="directory"/> is a file.</exception>
    public void Save(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (File.Exists(directory))
        {
            // Directory.CreateDirectory's own IOException says only that the file "already exists".
            throw new PathException(directory, "is a file; expected a directory to write the tokenizer files into.");
        }
        Directory.CreateDirectory(directory);
        Vocab.Save(Path.Combine(directory, "vocab.txt"));
        TokenizerJsonWriter.Write(this, Path.Combine(directory, "tokenizer.json"));
        TokenizerConfig.From(this).Save(Path.Combine(directory, TokenizerConfig.FileName));
        TokenizerConfig.SaveSpecialTokensMap(this, Path.Combine(directory, "special_tokens_map.json"));
    }

    internal static JsonDocument ReadJson(string path)
    {
        // Strict UTF-8 (the line of a bad byte named): JsonDocument leaves a bad byte inside a string to fail at GetString,
        // with an InvalidOperationException that names neither the file nor the line.
        var text = TextLines.ReadAllText(path, "a tokenizer file");
        StrictJson.RefuseLoneSurrogates(path, text);
        try
        {
            return JsonDocument.Parse(text, StrictJson.Options);
        }
        catch (JsonException e)
        {
            throw StrictJson.DuplicateKeyError(path, text, e)
                  ?? new BertSharpException($"{LineRef.NotValidJson(path, e)}; expected the JSON of a Hugging Face tokenizer.json.", e);
        }
    }

    private static JsonElement Required(JsonElement e, string name, string path) =>
        e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v
            : throw new BertSharpException($"{path}: missing '{name}'.");

    /// <summary>A string field of the object <paramref name="e"/>: null when absent or null, an error naming <paramref name="field"/> when not a string.</summary>
    private static string? OptionalString(JsonElement e, string name, string field, string path) =>
        !e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : throw new BertSharpException($"{path}: {field}: expected a string, got {Shown(v)}.");

    /// <summary>The value as the file has it, cut at 80 characters.</summary>
    private static string Shown(JsonElement v)
    {
        var text = v.GetRawText();
        return text.Length > 80 ? text[..80] + "…" : text;
    }

    internal static bool? Bool(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        } : null;

    private static Vocabulary ReadVocab(JsonElement vocab, string path)
    {
        if (vocab.ValueKind != JsonValueKind.Object)
        {
            throw new BertSharpException($"{path}: model.vocab must be an object mapping tokens to ids.");
        }
        var entries = new List<(string Token, int Id)>();
        foreach (var p in vocab.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out var id) || id < 0)
            {
                throw new BertSharpException($"{path}: model.vocab['{p.Name}'] must be a non-negative integer id.");
            }
            entries.Add((p.Name, id));
        }
        var tokens = new string?[entries.Count];
        foreach (var (token, id) in entries)
        {
            if (id >= tokens.Length)
            {
                // The range comes from the token count, not from the model: config.json's vocab_size is checked where both
                // are loaded (BertPretrained.LoadTokenizer).
                throw new BertSharpException(
                    Invariant($"{path}: model.vocab id {id} of '{token}' is out of range; its {tokens.Length} tokens must have the ids 0..{tokens.Length - 1}, one each."));
            }
            if (tokens[id] is not null)
            {
                throw new BertSharpException(Invariant($"{path}: model.vocab id {id} is used by both '{tokens[id]}' and '{token}'."));
            }
            tokens[id] = token;
        }
        return new Vocabulary(tokens!, path);
    }

    private static (string? Cls, string? Sep) PostProcessorTokens(JsonElement root, string path)
    {
        if (!root.TryGetProperty("post_processor", out var pp) || pp.ValueKind != JsonValueKind.Object)
        {
            return (null, null);
        }
        var type = OptionalString(pp, "type", "post_processor.type", path);
        try
        {
            if (type is "BertProcessing" or "RobertaProcessing")
            {
                return (pp.GetProperty("cls")[0].GetString(), pp.GetProperty("sep")[0].GetString());
            }
            if (type == "TemplateProcessing" && pp.TryGetProperty("single", out var single))
            {
                // "[CLS] $A [SEP]": the first and last special pieces of the single-sequence template.
                var ids = single.EnumerateArray().Where(x => x.TryGetProperty("SpecialToken", out _))
                    .Select(x => x.GetProperty("SpecialToken").GetProperty("id").GetString()).ToList();
                return ids.Count >= 2 ? (ids[0], ids[^1]) : (null, null);
            }
        }
        // JsonElement's accessors throw these on a value of another kind; as HF writes the section they never do.
        catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException)
        {
            throw new BertSharpException($"{path}: post_processor: not the shape HF's {type} has ({e.Message.Split('\n')[0]}).", e);
        }
        return (null, null);
    }
}
