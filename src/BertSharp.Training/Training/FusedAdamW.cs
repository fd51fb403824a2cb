using BertSharp.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// torch.optim.AdamW computed by libtorch's fused CPU kernel (<c>aten::_fused_adamw_</c>, what
/// <c>torch.optim.AdamW(fused=True)</c> runs): one pass over each parameter instead of TorchSharp's eight tensor operations
/// (decay, two moment updates, sqrt, division, eps, addcdiv, each a full read and write of the parameter, its gradient or
/// its moments). The update is the same (parameters agree with torch's AdamW to float rounding, and the HF AdamW fixtures
/// pass unchanged); the state (step, exp_avg, exp_avg_sq) is TorchSharp's AdamW state, so checkpoints are unchanged.
/// TorchSharp has no binding for the kernel, so a one-line TorchScript function calls it. Falls back to TorchSharp's
/// step, rewritten with Scalars that outlive their calls, for AMSGrad, maximize, non-CPU or non-float32 parameters (CUDA,
/// bf16), or a libtorch without the kernel.
/// </summary>
public sealed class FusedAdamW : AdamW
{
    private const string Script = @"
def adamw(params: List[Tensor], grads: List[Tensor], exp_avgs: List[Tensor], exp_avg_sqs: List[Tensor], steps: List[Tensor],
          lr: float, beta1: float, beta2: float, weight_decay: float, eps: float):
    torch._fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, [], steps, lr=lr, beta1=beta1, beta2=beta2,
                        weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False)
";

    private static readonly Lazy<jit.CompilationUnit?> Kernel = new(() =>
    {
        try
        {
            return jit.compile(Script);
        }
        catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    });

    /// <summary>AdamW over <paramref name="groups"/> with torch's defaults for anything a group does not set.</summary>
    public FusedAdamW(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay)
        : base(groups, lr, beta1, beta2, eps, weightDecay)
    {
    }

    /// <summary>Whether this libtorch has the fused kernel (else <see cref="step"/> is TorchSharp's AdamW step, made GC-safe).</summary>
    public static bool KernelAvailable => Kernel.Value is not null;

    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null)
    {
        if (Kernel.Value is not { } kernel || !Fusable())
        {
            return UnfusedStep(closure);
        }
        return _step<ParamGroup>(group =>
        {
            var o = (Options)group.Options;
            var (tensors, grads, avgs, squares, steps) = (new List<Tensor>(), new List<Tensor>(), new List<Tensor>(), new List<Tensor>(), new List<Tensor>());
            var stepTensors = new Dictionary<long, Tensor>();
            foreach (var param in group.Parameters)
            {
                var grad = param.grad;
                if (grad is null)
                {
                    continue;
                }
                var state = (State)_state[param.Handle];
                state.step += 1;
                if (!stepTensors.TryGetValue(state.step, out var stepTensor))
                {
                    stepTensor = stepTensors[state.step] = torch.tensor((float)state.step);
                }
                tensors.Add(param.detach());
                grads.Add(grad);
                avgs.Add(state.exp_avg);
                squares.Add(state.exp_avg_sq);
                steps.Add(stepTensor);
            }
            if (tensors.Count > 0)
            {
                // TorchSharp turns a double argument into a temporary Scalar and passes only its handle, so the GC may finalize
                // (free) it before libtorch reads it: a use-after-free that crashed a 4,210-step SST-2 run at step 527 with
                // "Scalar::toLong ... Expected false to be true" and could as well pass a wrong learning rate. Our own Scalars,
                // kept alive across the call, close that window.
                using var lr = o.LearningRate!.Value.ToScalar();
                using var beta1 = o.beta1!.Value.ToScalar();
                using var beta2 = o.beta2!.Value.ToScalar();
                using var weightDecay = o.weight_decay!.Value.ToScalar();
                using var eps = o.eps!.Value.ToScalar();
                object[] args = [tensors.ToArray(), grads.ToArray(), avgs.ToArray(), squares.ToArray(), steps.ToArray(), lr, beta1, beta2, weightDecay, eps];
                kernel.invoke("adamw", args);
                GC.KeepAlive(args);
            }
        }, closure!);
    }

    /// <summary>
    /// TorchSharp's AdamW step, operation for operation (so the numbers are the same to the bit), with Scalars we own:
    /// TorchSharp's own step turns each double into a temporary Scalar that the GC may free while libtorch reads it (the race
    /// described in <see cref="step"/>; dotnet/TorchSharp pull requests 1434 and 1496).
    /// </summary>
    private Tensor UnfusedStep(Func<Tensor>? closure) => _step<ParamGroup>(group =>
    {
        var o = (Options)group.Options;
        var (beta1, beta2, weightDecay, eps, lr) = (o.beta1!.Value, o.beta2!.Value, o.weight_decay!.Value, o.eps!.Value, o.LearningRate!.Value);
        var (amsgrad, maximize) = (o.amsgrad == true, o.maximize == true);
        using var decay = (1 - (lr * weightDecay)).ToScalar();
        using var b1 = beta1.ToScalar();
        using var oneMinusB1 = (1 - beta1).ToScalar();
        using var b2 = beta2.ToScalar();
        using var oneMinusB2 = (1 - beta2).ToScalar();
        using var epsilon = eps.ToScalar();
        foreach (var param in group.Parameters)
        {
            if (param.grad is not { } g)
            {
                continue;
            }
            using var scope = torch.NewDisposeScope();
            var grad = maximize ? -g : g;
            var state = (State)_state[param.Handle];
            state.step += 1;
            var biasCorrection1 = 1 - Math.Pow(beta1, state.step);
            var biasCorrection2 = 1 - Math.Pow(beta2, state.step);
            using var sqrtCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
            using var minusStepSize = (-(lr / biasCorrection1)).ToScalar();
            param.mul_(decay);
            state.exp_avg.mul_(b1).add_(grad, alpha: oneMinusB1);
            state.exp_avg_sq.mul_(b2).addcmul_(grad, grad, value: oneMinusB2);
            if (amsgrad)
            {
                var old = state.max_exp_avg_sq;
                state.max_exp_avg_sq = torch.maximum(old, state.exp_avg_sq).DetachFromDisposeScope();
                old.Dispose();
            }
            // add_(Scalar) would make its alpha = 1 as an implicit Scalar the GC can free during the call (StableScalars).
            var denom = (amsgrad ? state.max_exp_avg_sq : state.exp_avg_sq).sqrt().div_(sqrtCorrection2).add_(epsilon, StableScalars.Of(1L));
            param.addcdiv_(state.exp_avg, denom, value: minusStepSize);
        }
    }, closure!);

    private bool Fusable() => _parameter_groups.All(g =>
        g.Options is Options { amsgrad: not true, maximize: not true } &&
        g.Parameters.All(p => p.device_type == DeviceType.CPU && p.dtype == ScalarType.Float32 && !p.is_sparse));
}
