using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>
/// The forward pass's hot Scalar operations — <c>a + b</c> (residuals, the attention mask, the embeddings) and the additive
/// attention mask — with Scalars that cannot be finalised during the call. TorchSharp 0.107's <c>Tensor.add(Tensor)</c> creates its <c>alpha = 1</c> as a new
/// <see cref="Scalar"/>, reads its handle and calls <c>THSTensor_add</c> without keeping the Scalar alive: a garbage
/// collection triggered by another thread during that native call can run the Scalar's finalizer, which frees it while
/// libtorch reads it ("Expected false to be true ... toFloat at c10/core/Scalar.h"; seen in the MiniLM tests of full test
/// runs on a loaded 2-vCPU machine). The same holds for every implicit Scalar (<c>1.0 - t</c>, <c>t * 2.0</c>); static Scalars
/// are never collected.
/// </summary>
internal static class StableScalars
{
    private static readonly Scalar One = 1.ToScalar();
    private static readonly ConcurrentDictionary<ScalarType, Scalar> Lowest = new();
    private static readonly ConcurrentDictionary<double, Scalar> Constants = new();
    private static readonly ConcurrentDictionary<long, Scalar> Integers = new();

    /// <summary>
    /// A floating-point Scalar of <paramref name="value"/> that is never collected. For model constants and settings (a
    /// dropout rate, a sequence length): each distinct value is kept for the life of the process.
    /// </summary>
    public static Scalar Of(double value) => Constants.GetOrAdd(value, d => d.ToScalar());

    /// <summary>An integer Scalar of <paramref name="value"/> that is never collected (integer tensors stay integer).</summary>
    public static Scalar Of(long value) => Integers.GetOrAdd(value, v => v.ToScalar());

    /// <summary><paramref name="a"/> + <paramref name="b"/> for a Scalar <paramref name="b"/> (with a stable alpha as well).</summary>
    public static Tensor Add(Tensor a, Scalar b) => a.add(b, One);

    /// <summary>Element-wise <paramref name="a"/> + <paramref name="b"/> (broadcasting as torch.add).</summary>
    public static Tensor Add(Tensor a, Tensor b) => a.add(b, One);

    /// <summary>
    /// HF's additive attention mask <c>(1 - mask) * finfo(dtype).min</c> from a float mask (1 = attend, 0 = padding) of any
    /// shape: 0 where attended, the dtype's lowest value where masked; bitwise what HF computes (<c>-m + 1</c> is <c>1 - m</c>).
    /// </summary>
    public static Tensor AdditiveMask(Tensor floatMask)
    {
        var lowest = Lowest.GetOrAdd(floatMask.dtype, t => torch.finfo(t).min.ToScalar());
        return floatMask.neg().add_(One, One).mul_(lowest);
    }

    /// <summary>
    /// <c>arange(count)</c>: 0, 1, …, count − 1 of <paramref name="dtype"/> (shape [count]). TorchSharp's <c>arange(stop)</c>
    /// makes its start and step as Scalars it does not keep alive; these are stable (a count such as a sequence length is
    /// kept once per distinct value).
    /// </summary>
    public static Tensor Range(long count, ScalarType dtype, Device? device = null) =>
        torch.arange(Of(0L), Of(count), Of(1L), dtype, device);

    /// <summary><paramref name="a"/> / <paramref name="divisor"/> (a model constant such as √head_dim, so the cache stays small).</summary>
    public static Tensor Divide(Tensor a, double divisor) => a.div(Of(divisor));
}
