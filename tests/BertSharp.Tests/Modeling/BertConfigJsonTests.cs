using System.Text.Json.Nodes;
using BertSharp.Modeling;

namespace BertSharp.Tests.Modeling;

/// <summary>
/// The whole one-line message for each kind of bad field in a config.json (the field, what was expected, what the file
/// holds), and the leniencies HF configs rely on: null for "not set", integral numbers written as 768.0, unknown keys kept.
/// </summary>
public class BertConfigJsonTests
{
    [Theory]
    [InlineData("""{"vocab_size": "big"}""", "field 'vocab_size': expected an integer from 1 to 16777216 (the limit), got \"big\".")]
    [InlineData("""{"vocab_size": 12.5}""", "field 'vocab_size': expected an integer from 1 to 16777216 (the limit), got 12.5.")]
    [InlineData("""{"vocab_size": 4294967296}""", "field 'vocab_size': expected an integer from 1 to 16777216 (the limit), got 4294967296.")]
    [InlineData("""{"num_hidden_layers": -1}""", "field 'num_hidden_layers': expected an integer from 0 to 1024 (the limit), got -1.")]
    [InlineData("""{"pad_token_id": -1}""", "field 'pad_token_id': expected an integer >= 0, got -1.")]
    [InlineData("""{"num_labels": 0}""", "field 'num_labels': expected an integer from 1 to 65536 (the limit), got 0.")]
    [InlineData("""{"hidden_dropout_prob": "x"}""", "field 'hidden_dropout_prob': expected a number, got \"x\".")]
    [InlineData("""{"classifier_dropout": [0.1]}""", "field 'classifier_dropout': expected a number, got [0.1].")]
    [InlineData("""{"use_cache": 1}""", "field 'use_cache': expected true or false, got 1.")]
    [InlineData("""{"hidden_act": 5}""", "field 'hidden_act': expected a string, got 5.")]
    [InlineData("""{"architectures": ["BertModel", 1]}""", "field 'architectures': expected a list of strings, got [\"BertModel\",1].")]
    [InlineData("""{"architectures": "BertModel"}""", "field 'architectures': expected a list of strings, got \"BertModel\".")]
    [InlineData("""{"id2label": {"a": "x"}}""", "field 'id2label': expected an object mapping class index to label name, got {\"a\":\"x\"}.")]
    [InlineData("""{"id2label": {"0": "a", "1": null}}""", "field 'id2label': the name of class \"1\" is null; expected a string, a number or true/false.")]
    [InlineData("""{"id2label": {"0": ["a"]}}""", "field 'id2label': the name of class \"0\" is [\"a\"]; expected a string, a number or true/false.")]
    [InlineData("""{"id2label": {"0": {"name": "a"}}}""", "field 'id2label': the name of class \"0\" is {\"name\":\"a\"}; expected a string, a number or true/false.")]
    [InlineData("""{"id2label": {"-1": "a", "1": "b"}}""", "field 'id2label': expected an object mapping class index to label name, got {\"-1\":\"a\",\"1\":\"b\"}.")]
    [InlineData("""{"id2label": {}}""", "field 'id2label': expected an object mapping class index to label name, got {}.")]
    [InlineData("""{"id2label": {"0": "a", "2": "b"}}""", "field 'id2label': expected class indices 0..1, got {\"0\":\"a\",\"2\":\"b\"}.")]
    [InlineData("""{"hidden_act": "mish2"}""", "hidden_act 'mish2' is not supported; expected one of gelu, gelu_python, gelu_new, gelu_pytorch_tanh, gelu_fast, quick_gelu, relu, silu, swish, tanh.")]
    [InlineData("""{"hidden_dropout_prob": 1.5}""", "hidden_dropout_prob 1.5: expected a probability in [0, 1).")]
    [InlineData("""{"num_labels": 3, "id2label": {"0": "a", "1": "b"}}""", "num_labels is 3 but id2label has 2 entries.")]
    [InlineData("""{"vocab_size": 100, "pad_token_id": 99999}""", "field 'pad_token_id': expected 0..99 (vocab_size 100), got 99999.")]
    [InlineData("""{"vocab_size": 100, "pad_token_id": 100}""", "field 'pad_token_id': expected 0..99 (vocab_size 100), got 100.")]
    [InlineData("""{"vocab_size": 512, "hidden_size": 32, "hidden_size": 64}""", "duplicate key 'hidden_size'.")]
    [InlineData("""{"id2label": {"0": "a", "1": "b", "0": "c"}}""", "duplicate key 'id2label.0'.")]
    [InlineData("""[]""", "expected a JSON object.")]
    [InlineData("""{"layer_norm_eps": 0}""", "field 'layer_norm_eps': expected a positive number, got 0.")]
    [InlineData("""{"layer_norm_eps": -0.5}""", "field 'layer_norm_eps': expected a positive number, got -0.5.")]
    public void A_bad_field_gives_one_line_naming_the_file_the_field_and_the_value(string json, string expected)
    {
        var e = Assert.Throws<BertSharpException>(() => BertConfig.Parse(json, "dir/config.json"));
        Assert.Equal("dir/config.json: " + expected, e.Message);
    }

    // HF's run_glue.py on a CSV or JSON dataset of boolean or integer labels writes them as JSON values (json.dumps of
    // {0: False, 1: True}); they were refused, so the model it trained did not load.
    [Fact]
    public void Boolean_and_numeric_label_names_are_read_as_their_json_text()
    {
        var bools = BertConfig.Parse("""{"id2label": {"0": false, "1": true}, "label2id": {"false": 0, "true": 1}}""", "x");
        Assert.Equal(["false", "true"], bools.Id2Label.Values);
        Assert.Equal("""{"0":"false","1":"true"}""", JsonNode.Parse(bools.ToJson())!["id2label"]!.ToJsonString());
        Assert.Equal(["-1", "0", "2.5"], BertConfig.Parse("""{"id2label": {"0": -1, "1": 0, "2": 2.5}}""", "x").Id2Label.Values);
    }

    [Fact]
    public void The_last_padding_id_and_a_tiny_epsilon_are_accepted()
    {
        var c = BertConfig.Parse("""{"vocab_size": 100, "pad_token_id": 99, "layer_norm_eps": 1e-300}""", "x");
        Assert.Equal((99, 1e-300), (c.PadTokenId, c.LayerNormEps));
    }

    [Fact]
    public void A_config_built_in_code_is_held_to_the_same_padding_id_and_epsilon_rules()
    {
        Assert.Equal("config: field 'pad_token_id': expected 0..30521 (vocab_size 30522), got -1.",
            Assert.Throws<BertSharpException>(() => new BertConfig { PadTokenId = -1 }.Validate()).Message);
        Assert.Equal("config: field 'layer_norm_eps': expected a positive number, got NaN.",
            Assert.Throws<BertSharpException>(() => new BertConfig { LayerNormEps = double.NaN }.Validate()).Message);
    }

    [Fact]
    public void Null_means_not_set_and_integral_numbers_may_carry_a_fraction()
    {
        var c = BertConfig.Parse("""{"vocab_size": null, "hidden_size": 256.0, "num_attention_heads": 4, "problem_type": null, "architectures": null}""", "x");
        Assert.Equal((30522, 256), (c.VocabSize, c.HiddenSize));
        Assert.Null(c.ProblemType);
        Assert.Null(c.Architectures);
    }

    [Fact]
    public void Unknown_keys_keep_their_values_null_included_and_known_ones_are_not_duplicated()
    {
        var c = BertConfig.Parse("""{"bos_token_id": null, "custom": {"a": [1, 2.5, "x"]}, "model_type": "bert", "label2id": {"LABEL_0": 0, "LABEL_1": 1}}""", "x");
        Assert.Equal(["bos_token_id", "custom"], c.Extra.Keys);
        var back = JsonNode.Parse(c.ToJson())!.AsObject();
        Assert.True(back.ContainsKey("bos_token_id"));
        Assert.Null(back["bos_token_id"]);
        Assert.Equal("""{"a":[1,2.5,"x"]}""", back["custom"]!.ToJsonString());
        Assert.Equal("bert", (string)back["model_type"]!);
        Assert.False(back.ContainsKey("label2id")); // default labels are left out, as HF does
        Assert.False(back.ContainsKey("num_labels"));
        Assert.Equal(back.Select(kv => kv.Key).Order(StringComparer.Ordinal), back.Select(kv => kv.Key));
    }

    [Fact]
    public void Written_config_is_hfs_layout_byte_for_byte()
    {
        var c = new BertConfig { NumLabels = 3, ProblemType = "single_label_classification", Architectures = ["BertForSequenceClassification"] };
        c.Id2Label[2] = "neutral";
        Assert.Equal("""
            {
              "architectures": [
                "BertForSequenceClassification"
              ],
              "attention_probs_dropout_prob": 0.1,
              "classifier_dropout": null,
              "hidden_act": "gelu",
              "hidden_dropout_prob": 0.1,
              "hidden_size": 768,
              "id2label": {
                "0": "LABEL_0",
                "1": "LABEL_1",
                "2": "neutral"
              },
              "initializer_range": 0.02,
              "intermediate_size": 3072,
              "label2id": {
                "LABEL_0": 0,
                "LABEL_1": 1,
                "neutral": 2
              },
              "layer_norm_eps": 1E-12,
              "max_position_embeddings": 512,
              "model_type": "bert",
              "num_attention_heads": 12,
              "num_hidden_layers": 12,
              "pad_token_id": 0,
              "position_embedding_type": "absolute",
              "problem_type": "single_label_classification",
              "type_vocab_size": 2,
              "use_cache": true,
              "vocab_size": 30522
            }
            """.ReplaceLineEndings("\n"), c.ToJson().ReplaceLineEndings("\n"));
    }
}
