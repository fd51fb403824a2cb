using BertSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>Global-norm gradient clipping with torch's <c>clip_grad_norm_</c> arithmetic.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Computes the L2 norm of all gradients together (each parameter once) and, when it exceeds <paramref name="maxNorm"/>,
    /// scales every gradient by maxNorm / (norm + 1e-6). Returns the norm before clipping.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not a positive number (infinity, as in torch, only measures the norm).</exception>
    public static double ClipByGlobalNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        // torch's clip_grad_norm_ takes any max_norm: a negative one flipped every gradient (an ascent step), zero erased them
        // and NaN made them NaN, with no error. Infinity stays torch's way of measuring the norm without clipping.
        if (!(maxNorm > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm,
                Invariant($"maxNorm {maxNorm}: expected a positive number (infinity measures the norm without clipping)."));
        }
        using var scope = NewDisposeScope();
        var seen = new HashSet<IntPtr>();
        var grads = parameters.Where(p => seen.Add(p.Handle)).Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0)
        {
            return 0.0;
        }
        using var noGrad = torch.no_grad();
        // Tensor.norm() is libtorch's linalg_vector_norm(ord 2) with the order passed as a number (vector_norm's double
        // ord becomes a Scalar TorchSharp does not keep alive during the call).
        var norms = stack(grads.Select(g => g.norm()).ToArray());
        var total = norms.norm();
        // HF's clip_coef = max_norm / (total_norm + 1e-6), clamped at 1 (a number / tensor is reciprocal × number, as
        // torch's __rtruediv__), with Scalars the GC cannot free during the calls (StableScalars).
        var coef = StableScalars.Add(total, StableScalars.Of(1e-6)).reciprocal().mul(StableScalars.Of(maxNorm)).clamp_max(StableScalars.Of(1.0));
        foreach (var g in grads)
        {
            g.mul_(coef);
        }
        // In double whatever the gradients' dtype (item<float> refuses a bf16, fp16 or fp64 tensor).
        return total.to(torch.float64).cpu().item<double>();
    }
}
