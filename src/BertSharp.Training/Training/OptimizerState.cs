using BertSharp.Checkpoints;
using BertSharp.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// <c>optimizer.safetensors</c> of a checkpoint: AdamW's per-parameter step and moments as <c>step/NAME</c>,
/// <c>exp_avg/NAME</c>, <c>exp_avg_sq/NAME</c> (float32, exact), so a resumed run continues with the same optimizer.
/// </summary>
public static class OptimizerState
{
    /// <summary>The file name in a checkpoint directory.</summary>
    public const string FileName = "optimizer.safetensors";

    /// <summary>Writes the state of <paramref name="optimizer"/>, whose parameters are named <paramref name="parameterNames"/> in state order.</summary>
    public static void Save(string path, optim.Optimizer optimizer, IReadOnlyList<string> parameterNames)
    {
        ArgumentNullException.ThrowIfNull(parameterNames);
        var states = AdamStates(optimizer, parameterNames, path);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            for (var i = 0; i < states.Count; i++)
            {
                var s = states[i];
                tensors["step/" + parameterNames[i]] = tensor(new[] { s.step });
                tensors["exp_avg/" + parameterNames[i]] = s.exp_avg.detach().cpu();
                tensors["exp_avg_sq/" + parameterNames[i]] = s.exp_avg_sq.detach().cpu();
            }
            SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["optimizer"] = "AdamW" });
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>
    /// Restores what <see cref="Save"/> wrote into an optimizer over the same parameters. The file is refused from its
    /// header, before any tensor is read, unless it holds every parameter's state in the parameter's shape.
    /// </summary>
    public static void Load(string path, optim.Optimizer optimizer, IReadOnlyList<string> parameterNames)
    {
        ArgumentNullException.ThrowIfNull(parameterNames);
        var states = AdamStates(optimizer, parameterNames, path);
        var saved = SafeTensors.Load(path, header => Check(header, states, parameterNames));
        try
        {
            using var noGrad = no_grad();
            for (var i = 0; i < states.Count; i++)
            {
                var name = parameterNames[i];
                var s = states[i];
                s.step = saved["step/" + name].item<long>();
                s.exp_avg.copy_(saved["exp_avg/" + name]);
                s.exp_avg_sq.copy_(saved["exp_avg_sq/" + name]);
            }
        }
        finally
        {
            foreach (var t in saved.Values)
            {
                t.Dispose();
            }
        }
    }

    private static void Check(SafeTensorsHeader header, List<AdamW.State> states, IReadOnlyList<string> parameterNames)
    {
        var path = header.Path;
        for (var i = 0; i < states.Count; i++)
        {
            var name = parameterNames[i];
            if (header.Find("step/" + name) is null || header.Find("exp_avg/" + name) is not { } m || header.Find("exp_avg_sq/" + name) is not { } v)
            {
                throw new BertSharpException($"{path}: no optimizer state for parameter '{name}'.");
            }
            var shape = states[i].exp_avg.shape;
            if (!m.Shape.SequenceEqual(shape) || !v.Shape.SequenceEqual(shape))
            {
                throw new BertSharpException($"{path}: optimizer state of '{name}' has shape [{ShapeText.Join(m.Shape)}], the parameter [{ShapeText.Join(shape)}].");
            }
        }
    }

    private static List<AdamW.State> AdamStates(optim.Optimizer optimizer, IReadOnlyList<string> names, string path)
    {
        if (optimizer is not OptimizerHelper helper)
        {
            throw new ArgumentException("expected a managed TorchSharp optimizer", nameof(optimizer));
        }
        var states = helper.state_dict().State.Cast<AdamW.State>().ToList();
        if (states.Count != names.Count)
        {
            throw new BertSharpException(Invariant($"{path}: optimizer has {states.Count} parameters but {names.Count} names were given."));
        }
        return states;
    }
}
