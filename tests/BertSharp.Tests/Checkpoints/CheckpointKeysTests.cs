using BertSharp.Checkpoints;
using BertSharp.Runtime;
using static TorchSharp.torch;

namespace BertSharp.Tests.Checkpoints;

public class CheckpointKeysTests
{
    [Theory]
    [InlineData("bert.encoder.layer.0.output.LayerNorm.gamma", "bert.encoder.layer.0.output.LayerNorm.weight")]
    [InlineData("bert.embeddings.LayerNorm.beta", "bert.embeddings.LayerNorm.bias")]
    [InlineData("bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.weight")]
    [InlineData("bert.pooler.dense.bias", "bert.pooler.dense.bias")]
    // HF's _fix_key is a plain substring replace and handles "beta" before (and instead of) "gamma".
    [InlineData("gamma.beta", "gamma.bias")]
    [InlineData("alphabeta.gamma_gamma", "alphabias.gamma_gamma")]
    [InlineData("x.gamma_gamma", "x.weight_weight")]
    public void Normalize_follows_hf_fix_key(string key, string expected) =>
        Assert.Equal(expected, CheckpointKeys.Normalize(key));

    [Fact]
    public void Normalizing_both_old_and_new_names_of_one_parameter_is_refused()
    {
        TorchRuntime.EnsureLoaded();
        using var a = ones(1);
        using var b = ones(1);
        var e = Assert.Throws<BertSharpException>(() => CheckpointKeys.NormalizeAll(
            new Dictionary<string, Tensor> { ["ln.gamma"] = a, ["ln.weight"] = b }, "ckpt.bin"));
        Assert.Contains("'ln.gamma' and 'ln.weight' both mean 'ln.weight'", e.Message);
    }
}
