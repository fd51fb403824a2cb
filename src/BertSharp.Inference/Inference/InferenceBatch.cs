using BertSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Inference;

/// <summary>
/// Helpers of the pipelines around a forward pass (planning and padding are <see cref="Data.Batching"/>'s: inputs are sorted
/// by length, cut into batches, and each batch is padded only to its own longest input).
/// </summary>
internal static class InferenceBatch
{
    /// <summary>The device the model's parameters live on.</summary>
    public static Device DeviceOf(nn.Module model) => model.parameters().FirstOrDefault()?.device ?? CPU;

    /// <summary>
    /// A float32 CPU copy of <paramref name="t"/> as a flat array (row-major), whatever its dtype: inside a
    /// <see cref="MixedPrecision.Bf16"/> scope a head's logits are bf16, and the pipelines still return float32 values.
    /// </summary>
    /// <exception cref="NonFiniteOutputException">A value is NaN or infinite (the model's weights are broken).</exception>
    public static float[] ToFloats(Tensor t)
    {
        using var d = t.detach();
        using var f = MixedPrecision.Float32(d);
        using var c = f.cpu().contiguous();
        var values = c.data<float>().ToArray();
        NonFiniteOutputException.ThrowIfNotFinite(values, "outputs");
        return values;
    }
}
