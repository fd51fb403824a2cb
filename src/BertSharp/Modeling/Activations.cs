using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>The activation functions of HF's <c>ACT2FN</c> that BERT configs use, with HF's exact formulas.</summary>
public static class Activations
{
    private static readonly double Sqrt2OverPi = Math.Sqrt(2.0 / Math.PI);

    private static Scalar S(double value) => StableScalars.Of(value);

    /// <summary>Returns the function named by <c>hidden_act</c>; throws <see cref="BertSharpException"/> for unknown names.</summary>
    public static Func<Tensor, Tensor> Get(string name) => name switch
    {
        "gelu" or "gelu_python" => x => nn.functional.gelu(x),
        // HF NewGELUActivation, written out so the rounding follows HF's expression order.
        // Written with StableScalars: an implicit Scalar can be freed by the GC during the native call.
        "gelu_new" => GeluNew,
        "gelu_pytorch_tanh" => x => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "gelu_fast" => x => x.mul(S(0.5)).mul(StableScalars.Add(
            torch.tanh(x.mul(S(0.7978845608)).mul(StableScalars.Add(x.mul(S(0.044715)).mul(x), S(1.0)))), S(1.0))),
        "quick_gelu" => x => x.mul(torch.sigmoid(x.mul(S(1.702)))),
        "relu" => x => nn.functional.relu(x),
        "silu" or "swish" => x => nn.functional.silu(x),
        "tanh" => x => torch.tanh(x),
        _ => throw new BertSharpException(
            $"hidden_act '{name}' is not supported; expected one of {string.Join(", ", BertConfig.SupportedActivations)}."),
    };

    // HF NewGELUActivation. Inside a MixedPrecision.Bf16 scope autocast runs its pow in float32 (CUDA's fp32 list), and
    // the float32 power promotes the rest of the expression: HF computes on the bf16 input in float32 and returns float32,
    // which the next Linear casts back. Computed in bf16 it would round after each of its seven operations.
    private static Tensor GeluNew(Tensor x)
    {
        if (MixedPrecision.IsBf16Active && x.dtype == ScalarType.BFloat16)
        {
            using var up = x.to_type(ScalarType.Float32);
            return GeluNew(up);
        }
        return x.mul(S(0.5)).mul(StableScalars.Add(
            torch.tanh(StableScalars.Add(x, x.pow(S(3.0)).mul(S(0.044715))).mul(S(Sqrt2OverPi))), S(1.0)));
    }
}
