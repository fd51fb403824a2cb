using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// The deprecated <c>transformers.AdamW</c> (correct_bias=True) that older HF scripts and published fine-tuning recipes used.
/// It differs from torch's AdamW in two places: eps is added to sqrt(v) before the bias correction is folded into the step
/// size, and weight decay is applied after the Adam update (p -= lr·wd·p) instead of before it.
/// </summary>
public sealed class HfLegacyAdamW : AdamW
{
    public HfLegacyAdamW(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay)
        : base(groups, lr, beta1, beta2, eps, weightDecay)
    {
    }

    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var o = (Options)group.Options;
        var (beta1, beta2, eps, wd, lr) = (o.beta1!.Value, o.beta2!.Value, o.eps!.Value, o.weight_decay!.Value, o.LearningRate!.Value);
        foreach (var param in group.Parameters)
        {
            using var grad = param.grad;
            if (grad is null)
            {
                continue;
            }
            var state = (State)_state[param.Handle];
            state.step += 1;
            state.exp_avg.mul_(beta1).add_(grad, alpha: 1 - beta1);
            state.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value: 1 - beta2);
            using var denom = state.exp_avg_sq.sqrt().add_(eps);
            var stepSize = lr * Math.Sqrt(1 - Math.Pow(beta2, state.step)) / (1 - Math.Pow(beta1, state.step));
            param.addcdiv_(state.exp_avg, denom, value: -stepSize);
            if (wd > 0)
            {
                param.add_(param, alpha: -lr * wd);
            }
        }
    }, closure);
}
