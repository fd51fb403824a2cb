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
    /// <summary>An optimizer over <paramref name="groups"/> with these defaults for the groups that set none of their own.</summary>
    /// <param name="groups">The parameter groups, e.g. HF's decay and no-decay groups (<see cref="AdamWFactory"/>).</param>
    /// <param name="lr">Learning rate, ≥ 0 (<see cref="LearningRateSchedule.Apply"/> sets the scheduled rate of every group before a step).</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="eps">Added to sqrt(v) before the bias correction, ≥ 0.</param>
    /// <param name="weightDecay">Decay applied after the update as p −= lr·wd·p, ≥ 0.</param>
    /// <exception cref="ArgumentException">A negative <paramref name="lr"/>, <paramref name="eps"/> or <paramref name="weightDecay"/>, or a beta outside [0, 1) (TorchSharp's AdamW checks).</exception>
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
            // Explicit Scalars that live past each call: an implicit one can be freed by the GC during it (StableScalars).
            using var b1 = beta1.ToScalar();
            using var oneMinusB1 = (1 - beta1).ToScalar();
            using var b2 = beta2.ToScalar();
            using var oneMinusB2 = (1 - beta2).ToScalar();
            using var epsilon = eps.ToScalar();
            using var one = 1.ToScalar();
            state.exp_avg.mul_(b1).add_(grad, alpha: oneMinusB1);
            state.exp_avg_sq.mul_(b2).addcmul_(grad, grad, value: oneMinusB2);
            using var denom = state.exp_avg_sq.sqrt().add_(epsilon, one);
            var stepSize = lr * Math.Sqrt(1 - Math.Pow(beta2, state.step)) / (1 - Math.Pow(beta1, state.step));
            using var minusStepSize = (-stepSize).ToScalar();
            param.addcdiv_(state.exp_avg, denom, value: minusStepSize);
            if (wd > 0)
            {
                using var decay = (-lr * wd).ToScalar();
                param.add_(param, alpha: decay);
            }
        }
    }, closure);
}
