using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Inference;

/// <summary>
/// Helpers of the pipelines around a forward pass (planning and padding are <see cref="Data.Batching"/>'s: inputs are sorted
/// by length, cut into batches, and each batch is padded only to its own longest input).
/// </summary>
public static class InferenceBatch
{
    /// <summary>The device the model's parameters live on.</summary>
    public static Device DeviceOf(nn.Module model) => model.parameters().FirstOrDefault()?.device ?? CPU;

    /// <summary>A float32 CPU copy of <paramref name="t"/> as a flat array (row-major).</summary>
    public static float[] ToFloats(Tensor t)
    {
        using var c = t.detach().to(ScalarType.Float32).cpu().contiguous();
        return c.data<float>().ToArray();
    }
}
