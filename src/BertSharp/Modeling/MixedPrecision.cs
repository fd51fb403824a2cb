using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>
/// bf16 mixed precision done explicitly, since TorchSharp has no <c>torch.autocast</c>: inside a
/// <see cref="Bf16"/> scope the BERT modules compute as <c>torch.autocast("cuda", dtype=torch.bfloat16)</c> would
/// make them (CUDA's op lists, because the GPU is where bf16 pays; on a CPU with avx512_bf16 libtorch runs the same
/// kernels in bf16). Every <c>Linear</c> (query/key/value, the output and intermediate dense layers, the pooler, every
/// head's dense, decoder and classifier), the attention matmuls and <c>scaled_dot_product_attention</c> run in bfloat16:
/// input, weight and bias are cast to bf16 for the call and autograd carries the gradients back through the casts to the
/// float32 parameters. Embeddings, LayerNorm, the eager softmax, every loss and the <c>gelu_new</c> activation (whose
/// <c>pow</c> is on autocast's float32 list) run in float32 (bf16 inputs are cast up). Parameters, gradients, optimizer state and checkpoints stay float32 (master weights): nothing is rounded in
/// place.
/// </summary>
/// <remarks>
/// The outputs leave as autocast gives them: <c>last_hidden_state</c>, every hidden state and the eager attention
/// probabilities are float32 (they come out of LayerNorm and the float32 softmax); <c>pooler_output</c> and every head's
/// logits (sequence, token, multiple-choice, QA start/end, MLM, NSP) are bfloat16. The losses are float32 whatever the
/// logits' dtype, and so is any metric computed through <see cref="Float32"/>. The scope is thread-local, as autocast
/// is: a forward pass on another thread runs in float32. Outside a scope nothing changes (float32 throughout). The
/// inference pipelines and evaluations read their outputs through <see cref="Float32"/>, so inside a scope they compute
/// in bf16 and return float32 values.
/// </remarks>
public static class MixedPrecision
{
    [ThreadStatic]
    private static bool t_bf16;

    /// <summary>Whether the calling thread is inside a <see cref="Bf16"/> scope.</summary>
    public static bool IsBf16Active => t_bf16;

    /// <summary>
    /// Starts a bf16 autocast scope on the calling thread (nests; disposing restores the state it found). Dispose it
    /// on the same thread.
    /// </summary>
    public static IDisposable Bf16() => new Scope(true);

    /// <summary>
    /// Leaves bf16 on the calling thread until disposed (as <c>torch.autocast(..., enabled=False)</c> inside an autocast
    /// region): the modules compute in float32 again, e.g. a training hook that must not see the bf16 policy the trainer's
    /// <c>AfterStep</c> hooks run under. Nests like <see cref="Bf16"/>; disposing restores the state it found.
    /// </summary>
    public static IDisposable Off() => new Scope(false);

    /// <summary>
    /// <see cref="Bf16"/> for <paramref name="dtype"/> <see cref="ScalarType.BFloat16"/>; any other dtype is refused:
    /// float16 would need a gradient scaler (its 5-bit exponent underflows small gradients), which BertSharp does not have.
    /// </summary>
    /// <exception cref="BertSharpException"><paramref name="dtype"/> is not BFloat16.</exception>
    public static IDisposable Autocast(ScalarType dtype) => dtype == ScalarType.BFloat16
        ? Bf16()
        : throw new BertSharpException(
            $"mixed precision dtype {dtype}: expected BFloat16 (float16 would need a gradient scaler, which BertSharp does not have).");

    /// <summary>
    /// <paramref name="t"/> as float32 when it is bfloat16 or float16, else an alias of <paramref name="t"/> (float32 and
    /// float64 stay as they are): what losses and metrics read, whatever dtype the model's outputs have. Always a new
    /// tensor handle of <paramref name="t"/>'s shape that the caller owns and disposes.
    /// </summary>
    public static Tensor Float32(Tensor t) =>
        t.dtype is ScalarType.BFloat16 or ScalarType.Float16 ? t.to_type(ScalarType.Float32) : t.alias();

    /// <summary>
    /// <paramref name="layer"/> applied to <paramref name="x"/> [..., in] → [..., out]: in bf16 inside a scope, else
    /// the layer's own call.
    /// </summary>
    internal static Tensor Linear(Linear layer, Tensor x) =>
        t_bf16 ? Linear(x, layer.weight!, layer.bias) : layer.call(x);

    /// <summary>
    /// <c>linear(x, weight, bias)</c>, x [..., in], weight [out, in], bias [out] → [..., out]; all three cast to bf16 inside
    /// a scope (the tied MLM decoder passes the word-embedding matrix here).
    /// </summary>
    internal static Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        if (!t_bf16)
        {
            return nn.functional.linear(x, weight, bias);
        }
        using var scope = NewDisposeScope();
        return nn.functional.linear(Bf(x), Bf(weight), bias is null ? null : Bf(bias)).MoveToOuterDisposeScope();
    }

    /// <summary><c>matmul(a, b)</c>, in bf16 inside a scope.</summary>
    internal static Tensor MatMul(Tensor a, Tensor b)
    {
        if (!t_bf16)
        {
            return matmul(a, b);
        }
        using var scope = NewDisposeScope();
        return matmul(Bf(a), Bf(b)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <c>scaled_dot_product_attention</c> of q, k, v [batch, heads, seq, head_dim] with an additive mask, in bf16 inside a
    /// scope. The mask is clamped to bf16's lowest value first: float32's <c>finfo.min</c> rounds to −inf in bf16, and a row
    /// masked everywhere would then attend to nothing (zeros from libtorch's CPU kernel, NaN from others) where float32
    /// gives a uniform row.
    /// </summary>
    internal static Tensor Attention(Tensor q, Tensor k, Tensor v, Tensor? additiveMask, double dropoutP)
    {
        if (!t_bf16)
        {
            return nn.functional.scaled_dot_product_attention(q, k, v, additiveMask, dropoutP);
        }
        using var scope = NewDisposeScope();
        var mask = additiveMask is null ? null
            : additiveMask.clamp_min(Bf16Lowest).to_type(ScalarType.BFloat16);
        return nn.functional.scaled_dot_product_attention(Bf(q), Bf(k), Bf(v), mask, dropoutP).MoveToOuterDisposeScope();
    }

    /// <summary>Softmax over the last dimension, in float32 for a bf16 input (autocast's float32 list).</summary>
    internal static Tensor Softmax(Tensor scores) => t_bf16
        ? nn.functional.softmax(scores, -1, ScalarType.Float32)
        : nn.functional.softmax(scores, -1);

    /// <summary><paramref name="norm"/> applied to <paramref name="x"/>, cast up to float32 first inside a scope.</summary>
    internal static Tensor LayerNorm(LayerNorm norm, Tensor x)
    {
        if (!t_bf16 || x.dtype == ScalarType.Float32)
        {
            return norm.call(x);
        }
        using var up = x.to_type(ScalarType.Float32);
        return norm.call(up);
    }

    private static readonly Scalar Bf16Lowest = torch.finfo(ScalarType.BFloat16).min.ToScalar();

    // An alias, not the tensor itself: callers dispose what this returns inside their scope, and the input is not theirs.
    private static Tensor Bf(Tensor t) => t.dtype == ScalarType.BFloat16 ? t.alias() : t.to_type(ScalarType.BFloat16);

    private sealed class Scope : IDisposable
    {
        private readonly bool _previous;
        private bool _disposed;

        public Scope(bool bf16)
        {
            _previous = t_bf16;
            t_bf16 = bf16;
        }

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            t_bf16 = _previous;
        }
    }
}
