using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>
/// <c>a + b</c> for the forward pass's hot additions (residuals, the attention mask, the embeddings), with a Scalar that
/// cannot be finalised during the call. TorchSharp 0.107's <c>Tensor.add(Tensor)</c> creates its <c>alpha = 1</c> as a new
/// <see cref="Scalar"/>, reads its handle and calls <c>THSTensor_add</c> without keeping the Scalar alive: a garbage
/// collection triggered by another thread during that native call can run the Scalar's finalizer, which frees it while
/// libtorch reads it ("Expected false to be true ... toFloat at c10/core/Scalar.h"; seen in the MiniLM tests of full test
/// runs on a loaded 2-vCPU machine). A static Scalar is never collected.
/// </summary>
internal static class TensorAdd
{
    private static readonly Scalar One = 1.ToScalar();

    /// <summary>Element-wise <paramref name="a"/> + <paramref name="b"/> (broadcasting as torch.add).</summary>
    public static Tensor Add(Tensor a, Tensor b) => a.add(b, One);
}
