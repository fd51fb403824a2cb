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

    /// <summary>A float32 CPU copy of <paramref name="t"/> as a flat array (row-major).</summary>
    /// <exception cref="NonFiniteOutputException">A value is NaN or infinite (the model's weights are broken).</exception>
    public static float[] ToFloats(Tensor t)
    {
        using var c = t.detach().to(ScalarType.Float32).cpu().contiguous();
        var values = c.data<float>().ToArray();
        NonFiniteOutputException.ThrowIfNotFinite(values, "outputs");
        return values;
    }
}
