using System.Text.RegularExpressions;

namespace BertSharp.Checkpoints.Onnx;

/// <summary>The HF BERT checkpoint keys an ONNX initializer name can carry, with or without the <c>bert.</c> prefix.</summary>
internal static partial class OnnxBertKeys
{
    /// <summary>The 16 tensors of one encoder layer, relative to <c>encoder.layer.N.</c>.</summary>
    public static readonly IReadOnlyList<string> LayerTensors =
    [
        "attention.self.query.weight", "attention.self.query.bias", "attention.self.key.weight", "attention.self.key.bias",
        "attention.self.value.weight", "attention.self.value.bias", "attention.output.dense.weight", "attention.output.dense.bias",
        "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias", "intermediate.dense.weight", "intermediate.dense.bias",
        "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias",
    ];

    /// <summary>Embedding tensors every BERT graph has.</summary>
    public static readonly IReadOnlyList<string> EmbeddingTensors =
    [
        "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight", "embeddings.token_type_embeddings.weight",
        "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
    ];

    [GeneratedRegex(@"^(embeddings\.(word_embeddings|position_embeddings|token_type_embeddings)\.weight|embeddings\.LayerNorm\.(weight|bias)|encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|attention\.output\.LayerNorm|intermediate\.dense|output\.dense|output\.LayerNorm)\.(weight|bias)|pooler\.dense\.(weight|bias))$", RegexOptions.CultureInvariant)]
    private static partial Regex BaseKey();

    [GeneratedRegex(@"^(classifier\.(weight|bias)|qa_outputs\.(weight|bias)|cls\.predictions\.(bias|decoder\.(weight|bias)|transform\.(dense|LayerNorm)\.(weight|bias))|cls\.seq_relationship\.(weight|bias))$", RegexOptions.CultureInvariant)]
    private static partial Regex HeadKey();

    [GeneratedRegex(@"^encoder\.layer\.(\d+)\.", RegexOptions.CultureInvariant)]
    private static partial Regex LayerIndex();

    /// <summary>
    /// The checkpoint key an initializer name stands for — base keys without <c>bert.</c>, head keys as they are — or null
    /// when the name is not a BERT weight (an exporter's anonymous number, a shape constant, a buffer).
    /// </summary>
    public static string? Canonical(string name)
    {
        var key = CheckpointKeys.Normalize(name);
        if (key.StartsWith(Modeling.BertPreTrainedModel.BaseModelPrefix + ".", StringComparison.Ordinal))
        {
            var bare = key[(Modeling.BertPreTrainedModel.BaseModelPrefix.Length + 1)..];
            return BaseKey().IsMatch(bare) ? bare : null;
        }
        return BaseKey().IsMatch(key) || HeadKey().IsMatch(key) ? key : null;
    }

    /// <summary>Whether a canonical key belongs to a head (classifier, qa_outputs, cls.*).</summary>
    public static bool IsHead(string key) => HeadKey().IsMatch(key);

    /// <summary>The layer index of an encoder key, or -1.</summary>
    public static int Layer(string key) => LayerIndex().Match(key) is { Success: true } m ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
}
