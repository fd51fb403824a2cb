using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Tests.Server;

namespace BertSharp.Tests.Inference;

/// <summary>
/// A sentence-transformers model directory (modules.json, 1_Pooling/config.json) sets the default pooling and normalisation
/// of <c>bert embed</c>, <c>bert search</c> and <c>POST /v1/embed</c>, as its own <c>encode</c> uses them; explicit choices win.
/// </summary>
public sealed class SentenceTransformerPoolingTests
{
    private static readonly string Plain = HfFixture.Dir("base-model");
    private static readonly string[] Texts = ["the cat sat on the mat .", "a heartfelt family drama"];

    internal const string MeanNormalized =
        """[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}, """ +
        """{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}, """ +
        """{"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]""";

    internal static string PoolingConfig(string mode) =>
        $$"""{"word_embedding_dimension": 64, "pooling_mode_cls_token": {{Flag(mode, "cls")}}, "pooling_mode_mean_tokens": {{Flag(mode, "mean")}}, "pooling_mode_max_tokens": {{Flag(mode, "max")}}, "pooling_mode_mean_sqrt_len_tokens": false}""";

    private static string Flag(string mode, string name) => mode.Split('+').Contains(name) ? "true" : "false";

    /// <summary>Adds sentence-transformers' files to <paramref name="dir"/>, a model directory.</summary>
    internal static void AddModules(string dir, string modules, string pooling)
    {
        File.WriteAllText(Path.Combine(dir, "modules.json"), modules);
        Directory.CreateDirectory(Path.Combine(dir, "1_Pooling"));
        File.WriteAllText(Path.Combine(dir, "1_Pooling", "config.json"), pooling);
    }

    /// <summary>The fixture model copied to <paramref name="tmp"/>/model with sentence-transformers' files added.</summary>
    private static string StModel(TempDir tmp, string modules = MeanNormalized, string pooling = "")
    {
        var dir = tmp.File("model");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Plain))
        {
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        }
        AddModules(dir, modules, pooling.Length > 0 ? pooling : PoolingConfig("mean"));
        File.WriteAllLines(tmp.File("in.txt"), Texts);
        return dir;
    }

    private static float[][] Reference(Pooling pooling, bool normalize, int? maxLength = null)
    {
        using var pipe = FeatureExtraction.Load(Plain, "cpu");
        return pipe.Embed(Texts, new FeatureExtractionOptions(pooling, normalize, maxLength));
    }

    private static float[][] Read(string jsonl) =>
        [.. File.ReadAllLines(jsonl).Select(l => JsonNode.Parse(l)!["embedding"]!.AsArray().Select(v => (float)v!).ToArray())];

    private static void AssertVectors(float[][] expected, float[][] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            InferenceFixtures.AssertClose(expected[i], actual[i], 1e-5, $"text {i}");
        }
    }

    [Fact]
    public void Embed_defaults_to_the_models_mean_pooling_and_normalize_module()
    {
        using var tmp = TestPaths.TempDir();
        var dir = StModel(tmp);
        var r = CliRunner.Run("embed", "--model", dir, "--input", tmp.File("in.txt"), "--output", tmp.File("e.jsonl"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal("pooling: mean (1_Pooling/config.json), normalize: true (modules.json Normalize)", r.StdErr.Trim());
        var got = Read(tmp.File("e.jsonl"));
        // What `--pooling mean --normalize` gives on the plain model, and not the CLS default of a plain model.
        AssertVectors(Reference(Pooling.Mean, normalize: true), got);
        Assert.True(MathF.Abs(Reference(Pooling.Cls, normalize: false)[0][0] - got[0][0]) > 1e-3);
    }

    [Fact]
    public void Explicit_pooling_and_normalize_win_over_the_models_files()
    {
        using var tmp = TestPaths.TempDir();
        var dir = StModel(tmp);
        var r = CliRunner.Run("embed", "--model", dir, "--input", tmp.File("in.txt"), "--output", tmp.File("e.jsonl"), "--pooling", "cls", "--normalize", "false");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal("pooling: cls (--pooling), normalize: false (--normalize)", r.StdErr.Trim());
        AssertVectors(Reference(Pooling.Cls, normalize: false), Read(tmp.File("e.jsonl")));
    }

    [Theory]
    [InlineData("max", "field 'pooling_mode_max_tokens' is true")]
    [InlineData("cls+mean", "fields 'pooling_mode_cls_token' and 'pooling_mode_mean_tokens' are all true")]
    public void A_pooling_BertSharp_does_not_compute_is_refused_unless_pooling_is_given(string mode, string message)
    {
        using var tmp = TestPaths.TempDir();
        var dir = StModel(tmp, pooling: PoolingConfig(mode));
        CliRunner.Run("embed", "--model", dir, "--input", tmp.File("in.txt"), "--output", tmp.File("e.jsonl"))
            .AssertOneLineError(Path.Combine(dir, "1_Pooling", "config.json"), message, "give --pooling cls or mean");
        Assert.False(File.Exists(tmp.File("e.jsonl")));
        var r = CliRunner.Run("embed", "--model", dir, "--input", tmp.File("in.txt"), "--output", tmp.File("e.jsonl"), "--pooling", "mean");
        Assert.True(r.ExitCode == 0, r.StdErr);
        AssertVectors(Reference(Pooling.Mean, normalize: true), Read(tmp.File("e.jsonl")));
    }

    [Theory]
    [InlineData("[{\"type\": ", "", "modules.json line 1: not valid JSON")]
    [InlineData("{\"type\": \"sentence_transformers.models.Pooling\"}", "", "modules.json: expected a list of sentence-transformers modules")]
    [InlineData("[{\"type\": \"sentence_transformers.models.Pooling\"}]", "", "modules.json: missing field '[0].path'")]
    [InlineData(MeanNormalized, "{\"pooling_mode_mean_tokens\": \"yes\"}", "config.json: field 'pooling_mode_mean_tokens': expected true or false, got \"yes\"")]
    [InlineData(MeanNormalized, "{\"pooling_mode_mean_tokens\": true,\n \"pooling_mode_mean_tokens\": false}", "config.json: duplicate key 'pooling_mode_mean_tokens'")]
    public void Malformed_sentence_transformers_files_are_refused_in_one_line(string modules, string pooling, string message)
    {
        using var tmp = TestPaths.TempDir();
        var dir = StModel(tmp, modules, pooling);
        CliRunner.Run("embed", "--model", dir, "--input", tmp.File("in.txt"), "--output", tmp.File("e.jsonl"))
            .AssertOneLineError(message);
        Assert.False(File.Exists(tmp.File("e.jsonl")));
    }

    [Theory]
    [InlineData("{\"max_seq_length\": 256", "sentence_bert_config.json line 1: not valid JSON")]
    [InlineData("[256]", "sentence_bert_config.json: expected a sentence-transformers config ({\"max_seq_length\": 256, ...})")]
    [InlineData("{\"max_seq_length\": \"256\"}", "sentence_bert_config.json: field 'max_seq_length': expected a whole number of tokens, at least 3 ([CLS], one token, [SEP]), got \"256\"")]
    [InlineData("{\"max_seq_length\": 2}", "sentence_bert_config.json: field 'max_seq_length': expected a whole number of tokens, at least 3")]
    [InlineData("{\"max_seq_length\": 12.5}", "sentence_bert_config.json: field 'max_seq_length': expected a whole number of tokens")]
    [InlineData("{\"max_seq_length\": 8,\n \"max_seq_length\": 16}", "sentence_bert_config.json: duplicate key 'max_seq_length'")]
    [InlineData("{\"max_seq_length\": 8, \"do_lower_case\": \"false\"}", "sentence_bert_config.json: field 'do_lower_case': expected true or false, got \"false\"")]
    [InlineData("{\"do_lower_case\": 1}", "sentence_bert_config.json: field 'do_lower_case': expected true or false, got 1")]
    public void A_malformed_sentence_bert_config_is_refused_in_one_line(string content, string message)
    {
        using var tmp = TestPaths.TempDir();
        var dir = StModel(tmp);
        File.WriteAllText(Path.Combine(dir, "sentence_bert_config.json"), content);
        CliRunner.Run("embed", "--model", dir, "--input", tmp.File("in.txt"), "--output", tmp.File("e.jsonl"))
            .AssertOneLineError(Path.Combine(dir, "sentence_bert_config.json"), message);
        Assert.False(File.Exists(tmp.File("e.jsonl")));
    }

    [Fact]
    public async Task Embed_search_and_the_server_cut_at_max_seq_length_unless_a_length_is_given()
    {
        using var tmp = TestPaths.TempDir();
        var dir = StModel(tmp);
        // 7 word pieces + [CLS] and [SEP]: the fixture's model_max_length would keep them all; max_seq_length 8 cuts one.
        const string MaxSeq8 = "{\n  \"max_seq_length\": 8,\n  \"do_lower_case\": false\n}";
        File.WriteAllText(Path.Combine(dir, "sentence_bert_config.json"), MaxSeq8);
        var r = CliRunner.Run("embed", "--model", dir, "--input", tmp.File("in.txt"), "--output", tmp.File("e.jsonl"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.EndsWith("pooling: mean (1_Pooling/config.json), normalize: true (modules.json Normalize), max_length: 8 (sentence_bert_config.json max_seq_length)", r.StdErr.Trim());
        Assert.Contains("longer than 8 tokens", r.StdErr, StringComparison.Ordinal);
        AssertVectors(Reference(Pooling.Mean, normalize: true, maxLength: 8), Read(tmp.File("e.jsonl")));
        r = CliRunner.Run("embed", "--model", dir, "--input", tmp.File("in.txt"), "--output", tmp.File("e.jsonl"), "--max-length", "16");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal("pooling: mean (1_Pooling/config.json), normalize: true (modules.json Normalize)", r.StdErr.Trim());
        AssertVectors(Reference(Pooling.Mean, normalize: true), Read(tmp.File("e.jsonl")));

        var st = CliRunner.Run("search", "--model", dir, "--corpus", tmp.File("in.txt"), "--query", "a cat");
        Assert.True(st.ExitCode == 0, st.StdErr);
        Assert.EndsWith("pooling: mean (1_Pooling/config.json), max_length: 8 (sentence_bert_config.json max_seq_length)", st.StdErr.Trim());

        await using var host = await ServerHost.Start("base-model", prepare: d =>
        {
            AddModules(d, MeanNormalized, PoolingConfig("mean"));
            File.WriteAllText(Path.Combine(d, "sentence_bert_config.json"), MaxSeq8);
        });
        var (status, body) = await host.Post("/v1/embed", new { text = Texts[0] });
        Assert.Equal(422, status);
        Assert.Equal("'text' has 9 tokens (with special tokens); the limit is 8.", (string)body!["error"]!);
        (status, body) = await host.Post("/v1/embed", new { text = Texts[1] });
        Assert.Equal(200, status);
        AssertVectors([Reference(Pooling.Mean, normalize: true)[1]], Vectors(body!));
    }

    [Fact]
    public void Max_seq_length_above_the_tokenizers_model_max_length_is_the_length_encode_uses()
    {
        // sentence-transformers' Transformer (models/Transformer.py): a max_seq_length in sentence_bert_config.json becomes the
        // tokenizer's model_max_length and the cut, min(max_position_embeddings, model_max_length) only standing in without one.
        // So the fixture's 9-token text is read whole at max_seq_length 16 though tokenizer_config.json says 8.
        using var tmp = TestPaths.TempDir();
        var dir = StModel(tmp);
        var tokenizerConfig = Path.Combine(dir, "tokenizer_config.json");
        File.WriteAllText(tokenizerConfig, File.ReadAllText(tokenizerConfig).Replace("\"model_max_length\": 64", "\"model_max_length\": 8", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(dir, "sentence_bert_config.json"), "{\"max_seq_length\": 16, \"do_lower_case\": false}");
        var r = CliRunner.Run("embed", "--model", dir, "--input", tmp.File("in.txt"), "--output", tmp.File("e.jsonl"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal("pooling: mean (1_Pooling/config.json), normalize: true (modules.json Normalize), max_length: 16 (sentence_bert_config.json max_seq_length)", r.StdErr.Trim());
        AssertVectors(Reference(Pooling.Mean, normalize: true, maxLength: 16), Read(tmp.File("e.jsonl")));

        // Beyond max_position_embeddings (64) the model has no positions: the length stops there.
        File.WriteAllText(Path.Combine(dir, "sentence_bert_config.json"), "{\"max_seq_length\": 128}");
        var st = CliRunner.Run("search", "--model", dir, "--corpus", tmp.File("in.txt"), "--query", "a cat");
        Assert.True(st.ExitCode == 0, st.StdErr);
        Assert.Equal("pooling: mean (1_Pooling/config.json), max_length: 64 (sentence_bert_config.json max_seq_length)", st.StdErr.Trim());
    }

    [Fact]
    public async Task Do_lower_case_lower_cases_the_texts_before_a_cased_tokenizer_in_embed_search_and_the_server()
    {
        // Texts by hand in upper and lower case; a cased tokenizer over the fixture's all-lower-case vocabulary reads "The",
        // "Cat", "MAT" as [UNK] unless sentence-transformers' Transformer lower-cases them first (text.lower()).
        string[] cased = ["The Cat sat on the MAT .", "A Heartfelt family DRAMA"];
        const string LowerCase = "{\"max_seq_length\": 16, \"do_lower_case\": true}";
        static void CasedTokenizer(string d)
        {
            var path = Path.Combine(d, "tokenizer_config.json");
            File.WriteAllText(path, File.ReadAllText(path).Replace("\"do_lower_case\": true", "\"do_lower_case\": false", StringComparison.Ordinal));
        }
        using var tmp = TestPaths.TempDir();
        var dir = StModel(tmp);
        CasedTokenizer(dir);
        File.WriteAllText(Path.Combine(dir, "sentence_bert_config.json"), LowerCase);
        File.WriteAllLines(tmp.File("cased.txt"), cased);
        float[][] expected;
        using (var pipe = FeatureExtraction.Load(dir, "cpu"))
        {
            for (var i = 0; i < cased.Length; i++)
            {
                Assert.Contains(pipe.Tokenizer.UnkId, pipe.Tokenizer.Encode(cased[i]).Ids);
                Assert.NotEqual(pipe.Tokenizer.Encode(Texts[i]).Ids, pipe.Tokenizer.Encode(cased[i]).Ids);
            }
            expected = pipe.Embed(Texts, new FeatureExtractionOptions(Pooling.Mean, Normalize: true, MaxLength: 16));
        }
        var r = CliRunner.Run("embed", "--model", dir, "--input", tmp.File("cased.txt"), "--output", tmp.File("e.jsonl"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        AssertVectors(expected, Read(tmp.File("e.jsonl")));

        // Search lower-cases corpus and query alike: the cased ones score as the lower-case ones without do_lower_case.
        static string[] Scores(CliRunner.Result st) => [.. st.StdOut.Split('\n').Where(l => l.StartsWith("  ", StringComparison.Ordinal)).Select(l => l.Trim().Split("  ")[0])];
        var st = CliRunner.Run("search", "--model", dir, "--corpus", tmp.File("cased.txt"), "--query", "A CAT");
        Assert.True(st.ExitCode == 0, st.StdErr);
        // null is the module's default, false, as for max_seq_length.
        File.WriteAllText(Path.Combine(dir, "sentence_bert_config.json"), "{\"max_seq_length\": 16, \"do_lower_case\": null}");
        var lower = CliRunner.Run("search", "--model", dir, "--corpus", tmp.File("in.txt"), "--query", "a cat");
        Assert.True(lower.ExitCode == 0, lower.StdErr);
        Assert.Equal(2, Scores(lower).Length);
        Assert.Equal(Scores(lower), Scores(st));
        var unlowered = CliRunner.Run("search", "--model", dir, "--corpus", tmp.File("cased.txt"), "--query", "A CAT");
        Assert.NotEqual(Scores(lower), Scores(unlowered));

        await using var host = await ServerHost.Start("base-model", prepare: d =>
        {
            AddModules(d, MeanNormalized, PoolingConfig("mean"));
            CasedTokenizer(d);
            File.WriteAllText(Path.Combine(d, "sentence_bert_config.json"), LowerCase);
        });
        var (status, body) = await host.Post("/v1/embed", new { texts = cased });
        Assert.Equal(200, status);
        AssertVectors(expected, Vectors(body!));
    }

    [Fact]
    public void Search_follows_the_models_pooling()
    {
        using var tmp = TestPaths.TempDir();
        var dir = StModel(tmp, pooling: PoolingConfig("cls"));
        var st = CliRunner.Run("search", "--model", dir, "--corpus", tmp.File("in.txt"), "--query", "a cat");
        Assert.True(st.ExitCode == 0, st.StdErr);
        Assert.Equal("pooling: cls (1_Pooling/config.json)", st.StdErr.Trim());
        // Search's own default is mean: the model's cls gives what --pooling cls gives on the plain model.
        var cls = CliRunner.Run("search", "--model", Plain, "--corpus", tmp.File("in.txt"), "--query", "a cat", "--pooling", "cls");
        var mean = CliRunner.Run("search", "--model", Plain, "--corpus", tmp.File("in.txt"), "--query", "a cat");
        Assert.Equal(cls.StdOut.Split('\n')[1..], st.StdOut.Split('\n')[1..]);
        Assert.NotEqual(mean.StdOut.Split('\n')[1..], st.StdOut.Split('\n')[1..]);
    }

    [Fact]
    public async Task The_server_embeds_with_the_models_pooling_unless_the_request_chooses()
    {
        await using var host = await ServerHost.Start("base-model", prepare: d => AddModules(d, MeanNormalized, PoolingConfig("mean")));
        var (status, body) = await host.Post("/v1/embed", new { texts = Texts });
        Assert.Equal(200, status);
        AssertVectors(Reference(Pooling.Mean, normalize: true), Vectors(body!));
        (status, body) = await host.Post("/v1/embed", new { texts = Texts, pooling = "cls", normalize = false });
        Assert.Equal(200, status);
        AssertVectors(Reference(Pooling.Cls, normalize: false), Vectors(body!));
    }

    [Fact]
    public async Task The_server_asks_for_a_pooling_when_the_model_declares_one_it_does_not_compute()
    {
        await using var host = await ServerHost.Start("base-model", prepare: d => AddModules(d, MeanNormalized, PoolingConfig("max")));
        var (status, body) = await host.Post("/v1/embed", new { text = Texts[0] });
        Assert.Equal(422, status);
        var error = (string)body!["error"]!;
        Assert.Equal("the model's 1_Pooling/config.json: field 'pooling_mode_max_tokens' is true, a pooling BertSharp does not compute (cls or mean); give 'pooling' cls or mean to choose one.", error);
        (status, body) = await host.Post("/v1/embed", new { texts = Texts, pooling = "mean" });
        Assert.Equal(200, status);
        AssertVectors(Reference(Pooling.Mean, normalize: true), Vectors(body!));
        // OpenAI's request has no field to choose one: the same 422, in OpenAI's error shape, pointing at /v1/embed.
        (status, body) = await host.Post("/v1/embeddings", new { input = Texts[0] });
        Assert.Equal(422, status);
        var expected = new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = error + " /v1/embeddings has no 'pooling' field: use POST /v1/embed.", ["type"] = "invalid_request_error", ["param"] = null, ["code"] = null,
            },
        };
        Assert.Equal(expected.ToJsonString(), body!.ToJsonString());
    }

    private static float[][] Vectors(JsonNode body) =>
        [.. body["embeddings"]!.AsArray().Select(v => v!.AsArray().Select(x => (float)x!).ToArray())];
}
