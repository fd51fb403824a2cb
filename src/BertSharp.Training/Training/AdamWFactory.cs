using BertSharp.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>Which parameters get weight decay.</summary>
public enum DecayRule
{
    /// <summary>HF Trainer: every parameter except biases and LayerNorm weights.</summary>
    HuggingFace,

    /// <summary>nanoGPT: every parameter with two or more dimensions (matrices and embeddings).</summary>
    MatricesOnly,
}

/// <summary>AdamW hyper-parameters; the defaults are HF Trainer's (lr 5e-5, betas 0.9/0.999, eps 1e-8, no decay).</summary>
/// <param name="LearningRate">Peak learning rate (a schedule scales it per step).</param>
/// <param name="Beta1">Decay of the first-moment average.</param>
/// <param name="Beta2">Decay of the second-moment average.</param>
/// <param name="Eps">Added to the denominator.</param>
/// <param name="WeightDecay">Decoupled weight decay for the parameters <paramref name="DecayRule"/> selects.</param>
/// <param name="DecayRule">Which parameters are decayed.</param>
/// <param name="LegacyHf">Use the deprecated <c>transformers.AdamW</c> arithmetic (<see cref="HfLegacyAdamW"/>) instead of torch's.</param>
public sealed record AdamWOptions(
    double LearningRate = 5e-5,
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Eps = 1e-8,
    double WeightDecay = 0.0,
    DecayRule DecayRule = DecayRule.HuggingFace,
    bool LegacyHf = false);

/// <summary>
/// Builds <c>torch.optim.AdamW</c> (decoupled decay <c>p *= 1 - lr·wd</c>, then the bias-corrected Adam step; computed by
/// libtorch's fused kernel, see <see cref="FusedAdamW"/>) with HF's two parameter groups.
/// </summary>
public static class AdamWFactory
{
    /// <summary>Splits parameters into (decay, no-decay) by <paramref name="rule"/>; each parameter appears once.</summary>
    public static (IReadOnlyList<(string Name, Parameter Param)> Decay, IReadOnlyList<(string Name, Parameter Param)> NoDecay) Split(
        IEnumerable<(string Name, Parameter Param)> parameters, DecayRule rule)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var decay = new List<(string, Parameter)>();
        var noDecay = new List<(string, Parameter)>();
        var seen = new HashSet<IntPtr>();
        foreach (var (name, p) in parameters)
        {
            if (!p.requires_grad || !seen.Add(p.Handle))
            {
                continue;
            }
            (Decays(name, p, rule) ? decay : noDecay).Add((name, p));
        }
        return (decay, noDecay);
    }

    /// <summary>Whether <paramref name="name"/> gets weight decay under <paramref name="rule"/>.</summary>
    public static bool Decays(string name, Tensor p, DecayRule rule)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(p);
        return rule switch
        {
            DecayRule.HuggingFace => !name.Contains("bias", StringComparison.Ordinal) &&
                                     !name.Contains("LayerNorm.weight", StringComparison.Ordinal),
            DecayRule.MatricesOnly => p.dim() >= 2,
            _ => throw new ArgumentOutOfRangeException(nameof(rule)),
        };
    }

    /// <summary>AdamW over <paramref name="model"/>'s trainable parameters with the decay groups of <see cref="AdamWOptions.DecayRule"/>.</summary>
    /// <exception cref="BertSharpException">The learning rate or eps is negative or NaN, or a beta is outside [0, 1).</exception>
    public static AdamW Create(BertPreTrainedModel model, AdamWOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        return Create(model.NamedParameters(), options);
    }

    /// <summary>AdamW over named parameters with the decay groups of <see cref="AdamWOptions.DecayRule"/>.</summary>
    /// <exception cref="BertSharpException">The learning rate or eps is negative or NaN, or a beta is outside [0, 1).</exception>
    public static AdamW Create(IEnumerable<(string Name, Parameter Param)> parameters, AdamWOptions options)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(options);
        Check(options);
        var (decay, noDecay) = Split(parameters, options.DecayRule);
        var groups = new List<AdamW.ParamGroup>();
        if (decay.Count > 0)
        {
            groups.Add(new AdamW.ParamGroup(decay.Select(p => p.Param), new AdamW.Options { weight_decay = options.WeightDecay }));
        }
        if (noDecay.Count > 0)
        {
            groups.Add(new AdamW.ParamGroup(noDecay.Select(p => p.Param), new AdamW.Options { weight_decay = 0.0 }));
        }
        return options.LegacyHf
            ? new HfLegacyAdamW(groups, options.LearningRate, options.Beta1, options.Beta2, options.Eps, options.WeightDecay)
            : new FusedAdamW(groups, options.LearningRate, options.Beta1, options.Beta2, options.Eps, options.WeightDecay);
    }

    // TorchSharp said only "Invalid learning rate: -1" (or "Invalid beta1: -1", "Invalid eps value: -1", "Invalid weight_decay
    // value: -1"), naming no HF field,
    // and took NaN. The bounds are torch's: lr and eps 0 stay allowed, a beta of 1 is refused.
    private static void Check(AdamWOptions options)
    {
        if (!(options.LearningRate >= 0))
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("learning_rate")} {options.LearningRate}: expected a number ≥ 0."));
        }
        Beta("adam_beta1", options.Beta1);
        Beta("adam_beta2", options.Beta2);
        if (!(options.Eps >= 0))
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("adam_epsilon")} {options.Eps}: expected a number ≥ 0."));
        }
        if (!(options.WeightDecay >= 0))
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("weight_decay")} {options.WeightDecay}: expected a number ≥ 0."));
        }

        static void Beta(string name, double beta)
        {
            if (!(beta >= 0 && beta < 1))
            {
                throw new BertSharpException(Invariant($"{BertSharpException.Field(name)} {beta}: expected a number in [0, 1)."));
            }
        }
    }
}
