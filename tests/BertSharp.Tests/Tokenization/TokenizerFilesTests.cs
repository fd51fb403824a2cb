using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.IO;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Tokenization;

/// <summary>vocab.txt / tokenizer.json / tokenizer_config.json loading and saving, checked against HF's own files.</summary>
public class TokenizerFilesTests
{
    private const string Sample = "Hello, y'all! How are you 😁 ? naïve café résumé 東京 unaffable [MASK]";

    [Fact]
    public void A_null_tokenizer_directory_is_an_argument_null_exception_not_a_missing_directory_named_nothing()
    {
        // It was BertSharpException ": tokenizer directory not found.", an empty name where the path goes.
        Assert.Equal("dir", Assert.Throws<ArgumentNullException>(() => BertTokenizer.FromDirectory(null!)).ParamName);
    }

    [SkippableTheory]
    [InlineData("bert-base-uncased")]
    [InlineData("bert-base-cased")]
    public void HfTokenizerJsonLoadsAndSavesIdentically(string model)
    {
        var path = TestPaths.RequireShared("data", "tokenizer_reference", model + ".tokenizer.json");
        using var dir = TestPaths.TempDir();
        File.Copy(path, dir.File("tokenizer.json"));
        var tok = BertTokenizer.FromTokenizerJson(dir.File("tokenizer.json"));
        var reference = TokenizationFixtures.Tokenizer(model);
        Assert.Equal(reference.Lowercase, tok.Lowercase);
        foreach (var line in TokenizationFixtures.GoldenLines(model).Take(120))
        {
            using var doc = JsonDocument.Parse(line);
            var text = doc.RootElement.GetProperty("text").GetString()!;
            var pair = doc.RootElement.TryGetProperty("text_pair", out var p) ? p.GetString() : null;
            Assert.Equal(doc.RootElement.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()), tok.EncodeIds(text, pair));
        }
        using var outDir = TestPaths.TempDir();
        tok.Save(outDir.Path);
        var original = JsonNode.Parse(File.ReadAllText(path));
        var saved = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir.Path, "tokenizer.json")));
        Assert.True(JsonNode.DeepEquals(original, saved), "saved tokenizer.json differs from HF's");
    }

    [Fact]
    public void Save_onto_a_file_is_refused_naming_it_and_leaves_it_alone()
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllText(dir.File("afile"), "mine");
        // A path's problem, which a front end can say under the name its user gave the path.
        var e = Assert.Throws<PathException>(() => TokenizationFixtures.Uncased.Save(dir.File("afile")));
        Assert.Equal($"{dir.File("afile")}: is a file; expected a directory to write the tokenizer files into.", e.Message);
        Assert.Equal((dir.File("afile"), "is a file; expected a directory to write the tokenizer files into."), (e.Path, e.Problem));
        Assert.Equal("mine", File.ReadAllText(dir.File("afile")));
    }

    [Theory]
    [InlineData("bert-base-uncased")]
    [InlineData("bert-base-cased")]
    public void SaveThenLoadRoundTrips(string model)
    {
        var tok = TokenizationFixtures.Tokenizer(model);
        using var dir = TestPaths.TempDir();
        tok.Save(dir.Path);
        Assert.Equal(["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"],
            Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(File.ReadAllBytes(TokenizationFixtures.VocabPath(model)), File.ReadAllBytes(dir.File("vocab.txt")));
        var config = JsonNode.Parse(File.ReadAllText(dir.File("tokenizer_config.json")))!;
        Assert.Equal(tok.Lowercase, (bool)config["do_lower_case"]!);

        var fromJson = BertTokenizer.FromDirectory(dir.Path);
        File.Delete(dir.File("tokenizer.json"));
        var fromVocab = BertTokenizer.FromDirectory(dir.Path);
        foreach (var loaded in new[] { fromJson, fromVocab })
        {
            Assert.Equal(tok.Lowercase, loaded.Lowercase);
            Assert.Equal(tok.Encode(Sample, "pair text").Ids, loaded.Encode(Sample, "pair text").Ids);
            Assert.Equal(tok.Encode(Sample).Offsets, loaded.Encode(Sample).Offsets);
        }
    }

    [Fact]
    public void HubStyleTemplateProcessingAndNullStripAccentsLoad()
    {
        // transformers' hub files use TemplateProcessing and "strip_accents": null; the result must be the same tokenizer.
        using var dir = TestPaths.TempDir();
        TokenizationFixtures.Uncased.Save(dir.Path);
        var json = JsonNode.Parse(File.ReadAllText(dir.File("tokenizer.json")))!.AsObject();
        json["normalizer"]!["strip_accents"] = null;
        json["post_processor"] = JsonNode.Parse("""
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                      {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
             "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [101], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [102], "tokens": ["[SEP]"]}}}
            """);
        File.Delete(dir.File("tokenizer_config.json"));
        File.WriteAllText(dir.File("tokenizer.json"), json.ToJsonString());
        var tok = BertTokenizer.FromDirectory(dir.Path);
        Assert.True(tok.Lowercase);
        Assert.Null(tok.Normalizer.StripAccents);
        Assert.Equal(TokenizationFixtures.Uncased.Encode(Sample, "It was happy.").Ids, tok.Encode(Sample, "It was happy.").Ids);
    }

    [Fact]
    public void TokenizerConfigOverridesLowercasing()
    {
        using var dir = TestPaths.TempDir();
        File.Copy(TokenizationFixtures.VocabPath("bert-base-cased"), dir.File("vocab.txt"));
        // Without a config the vocabulary decides (LowercaseRule): bert-base-cased has upper-case tokens, so no lower-casing.
        Assert.Equal(["Hello", "na", "##ï", "##ve"], BertTokenizer.FromDirectory(dir.Path).Tokenize("Hello naïve"));
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"do_lower_case": true, "model_max_length": 512}""");
        var lowered = BertTokenizer.FromDirectory(dir.Path);
        Assert.Equal(["hello", "naive"], lowered.Tokenize("Hello naïve"));
        Assert.Equal(512, lowered.ModelMaxLength);
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"do_lower_case": false}""");
        Assert.Equal(["Hello", "na", "##ï", "##ve"], BertTokenizer.FromDirectory(dir.Path).Tokenize("Hello naïve"));
    }

    [Fact]
    public void VocabularyRejectsDuplicatesAndInvalidUtf8AndNeedsUnk()
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllText(dir.File("dup.txt"), "[PAD]\n[UNK]\nhello\nworld\nhello\n");
        var e = Assert.Throws<BertSharpException>(() => Vocabulary.Load(dir.File("dup.txt")));
        Assert.Contains("line 5", e.Message, StringComparison.Ordinal);
        File.WriteAllBytes(dir.File("bad.txt"), [0x5B, 0x55, 0x4E, 0x4B, 0x5D, 0x0A, 0xC3, 0x28, 0x0A]);
        Assert.Contains("UTF-8", Assert.Throws<BertSharpException>(() => Vocabulary.Load(dir.File("bad.txt"))).Message, StringComparison.Ordinal);
        File.WriteAllText(dir.File("nounk.txt"), "[PAD]\nhello\n");
        Assert.Contains("[UNK]", Assert.Throws<BertSharpException>(() => BertTokenizer.FromVocabFile(dir.File("nounk.txt"))).Message, StringComparison.Ordinal);
        File.WriteAllText(dir.File("ok.txt"), "[UNK]\r\nhello\n##lo\n");
        var v = Vocabulary.Load(dir.File("ok.txt"));
        Assert.Equal(["[UNK]", "hello", "##lo"], v.Tokens);
        Assert.True(v.TryGetId("hello".AsSpan(), out var id) && id == 1);
    }

    // transformers' load_vocab strips the line break alone: "a " and "a" are two tokens, which trimming made one duplicate.
    // A token with a line break cannot be one line of vocab.txt: Save wrote it, and Load read it back as two tokens.
    [Fact]
    public void Vocabulary_round_trips_trailing_spaces_and_refuses_to_save_a_line_break()
    {
        using var dir = TestPaths.TempDir();
        string[] tokens = ["[UNK]", "a ", "a", "b\t", "\u3000", ""];
        new Vocabulary(tokens).Save(dir.File("vocab.txt"));
        Assert.Equal(tokens, Vocabulary.Load(dir.File("vocab.txt")).Tokens);
        File.WriteAllText(dir.File("lines.txt"), "[UNK]\r\na \rb\n");
        Assert.Equal(["[UNK]", "a ", "b"], Vocabulary.Load(dir.File("lines.txt")).Tokens);
        foreach (var (bad, shown) in new[] { ("x\ny", "x\\x0ay"), ("x\r", "x\\x0d") })
        {
            var path = dir.File("bad.txt");
            var e = Assert.Throws<BertSharpException>(() => new Vocabulary(["[UNK]", bad]).Save(path));
            Assert.Equal($"{path}: token 1 ('{shown}') holds a line break; vocab.txt has one token per line, so it cannot be written.", e.Message);
            Assert.False(File.Exists(path));
        }
    }

    [Fact]
    public void VocabularyNamesAnIdOutsideItAndANullToken()
    {
        var v = new Vocabulary(["[UNK]", "a", "b"]);
        Assert.Equal("b", v[2]);
        // Were IndexOutOfRangeException and ArgumentNullException (Parameter 'key'): neither said which id or token.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => v[3]);
        Assert.Equal("id", e.ParamName);
        Assert.StartsWith("id 3 is not in the vocabulary (ids 0..2).", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => v[-1]);
        var n = Assert.Throws<ArgumentException>(() => new Vocabulary(["[UNK]", null!, "b"], "mine"));
        Assert.Equal("tokens", n.ParamName);
        Assert.StartsWith("mine: token 1 is null; every id needs a token.", n.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadTokenizerJsonIsAOneLineError()
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllText(dir.File("tokenizer.json"), """{"model": {"type": "BPE", "vocab": {}}}""");
        Assert.Contains("WordPiece", Assert.Throws<BertSharpException>(() => BertTokenizer.FromTokenizerJson(dir.File("tokenizer.json"))).Message, StringComparison.Ordinal);
        File.WriteAllText(dir.File("tokenizer.json"), "{\"model\": {\n  \"type\": \"WordPiece\",\n");
        var cut = Assert.Throws<BertSharpException>(() => BertTokenizer.FromTokenizerJson(dir.File("tokenizer.json"))).Message;
        // The file ends on its third line (after the last line break).
        Assert.StartsWith(dir.File("tokenizer.json") + " line 3: not valid JSON (", cut, StringComparison.Ordinal);
        Assert.EndsWith("; expected the JSON of a Hugging Face tokenizer.json.", cut, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", cut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model_max_length": -5}""", "field 'model_max_length': expected a positive integer, got -5.")]
    [InlineData("""{"model_max_length": 0}""", "field 'model_max_length': expected a positive integer, got 0.")]
    [InlineData("""{"model_max_length": 12.5}""", "field 'model_max_length': expected a positive integer, got 12.5.")]
    [InlineData("""{"model_max_length": "x"}""", "field 'model_max_length': expected a positive integer, got \"x\".")]
    [InlineData("""{"do_lower_case": "yes"}""", "field 'do_lower_case': expected true or false, got \"yes\".")]
    [InlineData("""{"strip_accents": 0}""", "field 'strip_accents': expected true or false, got 0.")]
    [InlineData("""{"unk_token": 5}""", "field 'unk_token': expected a string or an AddedToken object with a string \"content\", got 5.")]
    [InlineData("""{"mask_token": {"content": 5}}""", "field 'mask_token': expected a string or an AddedToken object with a string \"content\", got {\"content\": 5}.")]
    [InlineData("""{"do_lower_case": true, "do_lower_case": false}""", "duplicate key 'do_lower_case'.")]
    public void TokenizerConfigFieldOfTheWrongKindIsAOneLineErrorNotTheDefault(string json, string expected)
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllText(dir.File("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
        File.WriteAllText(dir.File("tokenizer_config.json"), json);
        var e = Assert.Throws<BertSharpException>(() => BertTokenizer.FromDirectory(dir.Path));
        Assert.Equal(dir.File("tokenizer_config.json") + ": " + expected, e.Message);
    }

    [Theory]
    // A vocab.txt that is not one (an HTML error page, a Git LFS pointer), a tokenizer.json without [UNK], an unk_token the
    // vocabulary lacks: the error said "the vocabulary has no unknown token" without naming a file.
    [InlineData("vocab.txt", "version https://git-lfs.github.com/spec/v1\noid sha256:4c5d\nsize 231508\n", null, "[UNK]")]
    [InlineData("vocab.txt", "[PAD]\n[UNK]\nhello\n", """{"unk_token": "<unk>"}""", "<unk>")]
    [InlineData("tokenizer.json", """{"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "hello": 1}}}""", null, "[UNK]")]
    public void AVocabularyWithoutItsUnknownTokenIsAnErrorNamingTheFile(string name, string content, string? config, string unk)
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllText(dir.File(name), content);
        if (config is not null)
        {
            File.WriteAllText(dir.File("tokenizer_config.json"), config);
        }
        var e = Assert.Throws<BertSharpException>(() => BertTokenizer.FromDirectory(dir.Path));
        Assert.Equal($"{dir.File(name)}: the vocabulary has no unknown token '{unk}'; a WordPiece vocabulary needs one.", e.Message);
        if (name == "vocab.txt" && config is null)
        {
            e = Assert.Throws<BertSharpException>(() => BertTokenizer.FromVocabFile(dir.File(name)));
            Assert.StartsWith(dir.File(name) + ": ", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("tokenizer_config.json")]
    [InlineData("tokenizer.json")]
    public void TokenizerJsonFilesWithAnInvalidUtf8ByteAreAOneLineErrorNamingTheLine(string name)
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllText(dir.File("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
        var json = name == "tokenizer.json"
            ? "{\"model\": {\"type\": \"WordPiece\",\n\"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"[MASK]\": 4, \"hello\": 5}}}"
            : "{\"do_lower_case\": true,\n\"unk_token\": \"[UNK]\"}";
        var bytes = System.Text.Encoding.UTF8.GetBytes(json);
        File.WriteAllBytes(dir.File(name), bytes);
        Assert.Equal(6, BertTokenizer.FromDirectory(dir.Path).Vocab.Count);
        bytes[Array.IndexOf(bytes, (byte)'U')] = 0xFF; // inside the string "[UNK]", on line 2
        File.WriteAllBytes(dir.File(name), bytes);
        var e = Assert.Throws<BertSharpException>(() => BertTokenizer.FromDirectory(dir.Path));
        Assert.Equal(dir.File(name) + " line 2: invalid UTF-8 byte sequence (the file must be UTF-8 text).", e.Message);
    }

    [Fact]
    public void TokenizerConfigKeepsHfsUnknownLengthSentinelAndNullsAsNotSet()
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllText(dir.File("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
        File.WriteAllText(dir.File("tokenizer_config.json"),
            """{"model_max_length": 1000000000000000019884624838656, "strip_accents": null, "do_lower_case": false, "unk_token": {"content": "[UNK]"}}""");
        var tok = BertTokenizer.FromDirectory(dir.Path);
        Assert.Null(tok.ModelMaxLength);
        Assert.False(tok.Lowercase);
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"model_max_length": 128}""");
        Assert.Equal(128, BertTokenizer.FromDirectory(dir.Path).ModelMaxLength);
    }

    [Fact]
    public void TokenizerJsonIdsMustBeDenseFromZeroAndTheMessageSaysSoWithTheCount()
    {
        using var dir = TestPaths.TempDir();
        File.WriteAllText(dir.File("tokenizer.json"), """{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1, "b": 3}}}""");
        var e = Assert.Throws<BertSharpException>(() => BertTokenizer.FromTokenizerJson(dir.File("tokenizer.json")));
        Assert.Equal(dir.File("tokenizer.json") + ": model.vocab id 3 of 'b' is out of range; its 3 tokens must have the ids 0..2, one each.", e.Message);
    }
}
