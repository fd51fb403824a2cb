using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>The activation functions of HF's <c>ACT2FN</c> that BERT configs use, with HF's exact formulas.</summary>
public static class Activations
{
    private static readonly double Sqrt2OverPi = Math.Sqrt(2.0 / Math.PI);

    /// <summary>Returns the function named by <c>hidden_act</c>; throws <see cref="BertSharpException"/> for unknown names.</summary>
    public static Func<Tensor, Tensor> Get(string name) => name switch
    {
        "gelu" or "gelu_python" => x => nn.functional.gelu(x),
        // HF NewGELUActivation, written out so the rounding follows HF's expression order.
        "gelu_new" => x => 0.5 * x * (1.0 + torch.tanh(Sqrt2OverPi * (x + 0.044715 * torch.pow(x, 3.0)))),
        "gelu_pytorch_tanh" => x => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "gelu_fast" => x => 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
        "quick_gelu" => x => x * torch.sigmoid(1.702 * x),
        "relu" => x => nn.functional.relu(x),
        "silu" or "swish" => x => nn.functional.silu(x),
        "tanh" => x => torch.tanh(x),
        _ => throw new BertSharpException(
            $"hidden_act '{name}' is not supported; expected one of {string.Join(", ", BertConfig.SupportedActivations)}."),
    };
}
