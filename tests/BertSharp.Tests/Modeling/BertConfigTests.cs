using System.Text.Json.Nodes;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Modeling;

public class BertConfigTests
{
    [Fact]
    public void Reads_every_field_of_an_hf_config()
    {
        var c = BertConfig.Load(Path.Combine(HfFixture.Dir("token-classification"), "config.json"));
        Assert.Equal((512, 64, 2, 4, 128), (c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize));
        Assert.Equal((64, 2, 0), (c.MaxPositionEmbeddings, c.TypeVocabSize, c.PadTokenId));
        Assert.Equal(("gelu", "absolute"), (c.HiddenAct, c.PositionEmbeddingType));
        Assert.Equal((0.0, 0.0, 0.08, 1e-12), (c.HiddenDropoutProb, c.AttentionProbsDropoutProb, c.InitializerRange, c.LayerNormEps));
        Assert.Null(c.ClassifierDropout);
        Assert.Null(c.ProblemType);
        Assert.Equal(5, c.NumLabels);
        Assert.Equal("LABEL_4", c.Id2Label[4]);
        Assert.Equal(3, c.Label2Id["LABEL_3"]);
        Assert.Equal(["BertForTokenClassification"], c.Architectures!);
        Assert.Equal("float32", c.TorchDtype);
    }

    [Fact]
    public void Writing_reproduces_hf_config_json_and_keeps_unknown_fields()
    {
        foreach (var caseName in HfFixture.CaseNames)
        {
            var path = Path.Combine(HfFixture.Dir(caseName), "config.json");
            var written = JsonNode.Parse(BertConfig.Load(path).ToJson())!;
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(path)), written), $"{caseName}: config differs after round trip");
        }
        var json = File.ReadAllText(Path.Combine(HfFixture.Dir("pretraining"), "config.json"))
            .Replace("\"vocab_size\": 512", "\"vocab_size\": 512, \"gradient_checkpointing\": false, \"custom\": {\"a\": [1, 2]}", StringComparison.Ordinal);
        var again = JsonNode.Parse(BertConfig.Parse(json, "x").ToJson())!;
        Assert.Equal("{\"a\":[1,2]}", again["custom"]!.ToJsonString());
        Assert.False((bool)again["gradient_checkpointing"]!);
    }

    [Fact]
    public void Labels_problem_type_and_classifier_dropout_round_trip()
    {
        var c = new BertConfig { NumLabels = 3, ProblemType = "multi_label_classification", ClassifierDropout = 0.25 };
        c.Id2Label[1] = "positive";
        var back = BertConfig.Parse(c.ToJson(), "x");
        Assert.Equal(3, back.NumLabels);
        Assert.Equal("positive", back.Id2Label[1]);
        Assert.Equal(1, back.Label2Id["positive"]);
        Assert.Equal("multi_label_classification", back.ProblemType);
        Assert.Equal(0.25, back.ClassifierDropout);
        // HF leaves out the default two labels; num_labels alone (without id2label) is also accepted.
        Assert.DoesNotContain("id2label", new BertConfig().ToJson(), StringComparison.Ordinal);
        Assert.Equal(4, BertConfig.Parse("{\"num_labels\": 4}", "x").NumLabels);
    }

    // HF's rule for a regression model, in one place: problem_type regression, or none and one label. ClassifierRunner read
    // any one-label model as a regression, and LabelMap refused a one-label multi-label model (a yes/no classifier in HF).
    [Theory]
    [InlineData(null, 1, true)]
    [InlineData("regression", 3, true)]
    [InlineData(null, 2, false)]
    [InlineData("single_label_classification", 1, false)]
    [InlineData("multi_label_classification", 1, false)]
    public void A_regression_model_is_the_one_hf_regresses_with(string? problemType, int numLabels, bool regression)
    {
        var c = new BertConfig { NumLabels = numLabels, ProblemType = problemType };
        Assert.Equal(regression, c.IsRegression);
        if (problemType != "single_label_classification")
        {
            var labels = BertSharp.Data.LabelMap.FromConfig(c.Id2Label, numLabels, problemType);
            Assert.Equal(regression, labels.IsRegression);
            Assert.Equal(problemType ?? (regression ? "regression" : "single_label_classification"), labels.ProblemType);
        }
    }

    [Theory]
    [InlineData("{\"position_embedding_type\": \"relative_key\"}", "position_embedding_type 'relative_key'")]
    [InlineData("{\"hidden_act\": \"mish2\"}", "hidden_act 'mish2'")]
    [InlineData("{\"hidden_size\": 100, \"num_attention_heads\": 12}", "not a multiple of num_attention_heads")]
    [InlineData("{\"vocab_size\": \"big\"}", "field 'vocab_size': expected an integer")]
    [InlineData("{\"problem_type\": \"ranking\"}", "problem_type 'ranking'")]
    [InlineData("{\"num_labels\": 2, \"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}}", "num_labels is 2 but id2label has 3")]
    [InlineData("[1]", "expected a JSON object")]
    [InlineData("{\"is_decoder\": true}", "is_decoder is true")]
    [InlineData("{\"model_type\": \"distilbert\", \"dim\": 64, \"n_layers\": 2}", "field 'model_type': expected \"bert\" (BertSharp reads BERT models only), got \"distilbert\"")]
    [InlineData("{\"model_type\": 1}", "field 'model_type': expected \"bert\"")]
    [InlineData("{\"dtype\": 16}", "field 'dtype': expected a string, got 16")]
    public void Bad_configs_fail_with_a_message_naming_the_field(string json, string expected)
    {
        var e = Assert.Throws<BertSharpException>(() => BertConfig.Parse(json, "my/config.json"));
        Assert.StartsWith("my/config.json: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_that_is_not_JSON_names_its_line_from_1()
    {
        // The value that is not JSON starts the second line.
        var e = Assert.Throws<BertSharpException>(() => BertConfig.Parse("{\"hidden_size\":\n x}", "my/config.json"));
        Assert.Equal("my/config.json line 2: not valid JSON ('x' is an invalid start of a value); expected the JSON object of a model config.", e.Message);
    }

    // transformers 5 writes "dtype" and prefers it to torch_dtype: kept as an unknown field, a float16 checkpoint converted to
    // bfloat16 said both, and transformers 5 loaded the bfloat16 weights as float16.
    [Fact]
    public void Transformers5_dtype_is_read_as_torch_dtype_and_written_back_once()
    {
        var c = BertConfig.Parse("""{"model_type": "bert", "dtype": "float16", "transformers_version": "5.0.0"}""", "x");
        Assert.Equal("float16", c.TorchDtype);
        c.TorchDtype = "bfloat16";
        var written = JsonNode.Parse(c.ToJson())!.AsObject();
        Assert.False(written.ContainsKey("dtype"));
        Assert.Equal("bfloat16", (string)written["torch_dtype"]!);
        // Both given: transformers 5 keeps dtype.
        Assert.Equal("bfloat16", BertConfig.Parse("""{"torch_dtype": "float32", "dtype": "bfloat16"}""", "x").TorchDtype);
        Assert.Equal("float32", BertConfig.Parse("""{"torch_dtype": "float32", "dtype": null}""", "x").TorchDtype);
    }

    // A config.json that is a link (as in the HF cache) was measured by the link's own size, so any size got past the limit.
    [Fact]
    public void Config_size_limit_holds_through_a_link()
    {
        using var tmp = TestPaths.TempDir();
        var config = tmp.LinkToFileOf("config.json", BertConfig.MaxConfigBytes + 1);
        var e = Assert.Throws<BertSharpException>(() => BertConfig.Load(config));
        Assert.Contains($"{BertConfig.MaxConfigBytes + 1} bytes, more than the {BertConfig.MaxConfigBytes}-byte limit", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tiny", 2, 128, 2)]
    [InlineData("mini", 4, 256, 4)]
    [InlineData("small", 4, 512, 8)]
    [InlineData("medium", 8, 512, 8)]
    [InlineData("base", 12, 768, 12)]
    [InlineData("large", 24, 1024, 16)]
    public void Presets_have_the_published_shapes(string name, int layers, int hidden, int heads)
    {
        var c = BertConfig.Preset(name);
        Assert.Equal((layers, hidden, heads, 4 * hidden), (c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize));
        Assert.Equal((30522, 512, 2), (c.VocabSize, c.MaxPositionEmbeddings, c.TypeVocabSize));
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void Base_preset_has_bert_base_parameter_count()
    {
        // bert-base-uncased BertModel: 109,482,240 parameters (HF num_parameters()).
        using var model = new BertModel(BertConfig.Preset("base"));
        Assert.Equal(109_482_240L, model.NamedParameters().Sum(p => p.Param.numel()));
    }

    [Fact]
    public void Invalid_utf8_in_config_json_or_training_args_is_an_error_naming_its_line()
    {
        // Read leniently, the byte became U+FFFD inside the string value and the file loaded.
        using var tmp = TestPaths.TempDir();
        var json = File.ReadAllText(Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "config.json"));
        var at = json.IndexOf("\"model_type\"", StringComparison.Ordinal);
        var line = json[..at].Count(c => c == '\n') + 1;
        var bytes = System.Text.Encoding.UTF8.GetBytes(json.Replace("\"model_type\": \"bert\"", "\"model_type\": \"bXX\"", StringComparison.Ordinal));
        var x = bytes.AsSpan().IndexOf("bXX"u8) + 1;
        (bytes[x], bytes[x + 1]) = (0xff, 0xfe);
        File.WriteAllBytes(tmp.File("config.json"), bytes);
        var e = Assert.Throws<BertSharpException>(() => BertConfig.Load(tmp.File("config.json")));
        Assert.Equal($"{tmp.File("config.json")} line {line}: invalid UTF-8 byte sequence (the file must be UTF-8 text).", e.Message);

        File.WriteAllBytes(tmp.File("training_args.json"), [.. "{\"task\": \"s"u8, 0xff, .. "t2\"}"u8]);
        Assert.Equal($"{tmp.File("training_args.json")} line 1: invalid UTF-8 byte sequence (the file must be UTF-8 text).",
            Assert.Throws<BertSharpException>(() => BertSharp.Checkpoints.TrainingArgsFile.Read(tmp.Path)).Message);
    }

    [Fact]
    public void Save_is_atomic_and_loads_back()
    {
        using var tmp = TestPaths.TempDir();
        var c = BertConfig.Preset("mini");
        c.Save(tmp.File("config.json"));
        Assert.Equal(c.ToJson(), BertConfig.Load(tmp.File("config.json")).ToJson());
        Assert.Single(Directory.GetFiles(tmp.Path));
        var missing = Assert.Throws<BertSharpException>(() => BertConfig.Load(tmp.File("nope.json")));
        Assert.Contains("nope.json", missing.Message, StringComparison.Ordinal);
    }
}
