using System.Text.Json;
using BertSharp.Checkpoints;
using BertSharp.IO;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Training.Pretraining;

/// <summary>
/// <c>trainer_state.json</c> of a checkpoint: where the run is (step, data position) and the settings it must be resumed
/// with. The optimizer's AdamW moments live beside it in <c>optimizer.safetensors</c>. Random state needs no saving: the
/// dropout generator is re-seeded from (seed, step) at every step and dynamic masks from (seed, data position).
/// </summary>
public sealed class PretrainingTrainerState
{
    public const string FileName = "trainer_state.json";

    public const string OptimizerFileName = "optimizer.safetensors";

    public long GlobalStep { get; set; }

    /// <summary>Instances consumed so far; the next batch starts at this position (modulo the training instances).</summary>
    public long DataPosition { get; set; }

    /// <summary>The scheduler's step count (equal to <see cref="GlobalStep"/>; kept for readers that expect HF's field).</summary>
    public long SchedulerStep { get; set; }

    public long TotalSteps { get; set; }

    public int BatchSize { get; set; }

    public int GradAccum { get; set; }

    public double LearningRate { get; set; }

    public long WarmupSteps { get; set; }

    public double WeightDecay { get; set; }

    public double Eps { get; set; }

    public double MaxGradNorm { get; set; }

    public bool DynamicMasking { get; set; }

    public long Seed { get; set; }

    public long TrainInstances { get; set; }

    public string DataVocabSha256 { get; set; } = "";

    /// <summary>The data directory of the run (absolute), so that <c>--resume</c> needs no <c>--data</c>; null in older checkpoints.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>Checkpoint interval of the run (<c>--save-every</c>).</summary>
    public long SaveEvery { get; set; }

    /// <summary>Evaluation interval of the run (<c>--eval-every</c>; it decides how many instances are held out).</summary>
    public long EvalEvery { get; set; }

    /// <summary>How the random state is reproduced (documentation for readers of the checkpoint).</summary>
    public string Rng { get; set; } = "torch.manual_seed(derive(seed, step)) before every step; dynamic masks from derive(seed, data position)";

    public static PretrainingTrainerState FromOptions(PretrainingTrainerOptions o, long trainInstances, string vocabSha) => new()
    {
        TotalSteps = o.Steps,
        BatchSize = o.BatchSize,
        GradAccum = o.GradAccum,
        LearningRate = o.LearningRate,
        WarmupSteps = o.WarmupSteps,
        WeightDecay = o.WeightDecay,
        Eps = o.Eps,
        MaxGradNorm = o.MaxGradNorm,
        DynamicMasking = o.DynamicMasking,
        Seed = o.Seed,
        SaveEvery = o.SaveEvery,
        EvalEvery = o.EvalEvery,
        TrainInstances = trainInstances,
        DataVocabSha256 = vocabSha,
    };

    /// <summary>
    /// Throws when a resumed run's settings differ from the checkpoint's (the result would not be the same run). Only
    /// <c>--steps</c> may grow: the run is extended, its linear decay re-planned to end at the new total.
    /// </summary>
    public void CheckResumable(PretrainingTrainerState current, string path)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (current.TotalSteps < TotalSteps)
        {
            throw new BertSharpException($"{path}: cannot resume: --steps {current.TotalSteps} is below the run's {TotalSteps}; --resume may keep or extend --steps, not shorten it.");
        }
        void Same<T>(string name, T saved, T now)
        {
            if (!EqualityComparer<T>.Default.Equals(saved, now))
            {
                throw new BertSharpException($"{path}: cannot resume: {name} was {saved} in the checkpoint but is {now} now; resume with the same settings.");
            }
        }
        Same("--batch-size", BatchSize, current.BatchSize);
        Same("--grad-accum", GradAccum, current.GradAccum);
        Same("--lr", LearningRate, current.LearningRate);
        Same("--warmup-steps", WarmupSteps, current.WarmupSteps);
        Same("--weight-decay", WeightDecay, current.WeightDecay);
        Same("--eps", Eps, current.Eps);
        Same("--max-grad-norm", MaxGradNorm, current.MaxGradNorm);
        Same("--dynamic-masking", DynamicMasking, current.DynamicMasking);
        Same("--seed", Seed, current.Seed);
        Same("the number of training instances", TrainInstances, current.TrainInstances);
        Same("the data's vocab_sha256", DataVocabSha256, current.DataVocabSha256);
    }

    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");

    public static PretrainingTrainerState Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new BertSharpException($"{path}: not found; not a checkpoint written by 'bert pretrain'.");
        }
        try
        {
            return JsonSerializer.Deserialize<PretrainingTrainerState>(File.ReadAllText(path), Json)
                   ?? throw new BertSharpException($"{path}: empty trainer state.");
        }
        catch (JsonException e)
        {
            throw new BertSharpException($"{path}: invalid JSON ({e.Message}).", e);
        }
    }

    /// <summary>Writes AdamW's per-parameter step and moments as <c>step/NAME</c>, <c>exp_avg/NAME</c>, <c>exp_avg_sq/NAME</c>.</summary>
    public static void SaveOptimizer(string path, optim.Optimizer optimizer, IReadOnlyList<string> parameterNames)
    {
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

    /// <summary>Restores what <see cref="SaveOptimizer"/> wrote into an optimizer over the same parameters.</summary>
    public static void LoadOptimizer(string path, optim.Optimizer optimizer, IReadOnlyList<string> parameterNames)
    {
        var states = AdamStates(optimizer, parameterNames, path);
        var saved = SafeTensors.Load(path);
        try
        {
            using var noGrad = no_grad();
            for (var i = 0; i < states.Count; i++)
            {
                var name = parameterNames[i];
                var s = states[i];
                if (!saved.TryGetValue("step/" + name, out var step) || !saved.TryGetValue("exp_avg/" + name, out var m)
                    || !saved.TryGetValue("exp_avg_sq/" + name, out var v))
                {
                    throw new BertSharpException($"{path}: no optimizer state for parameter '{name}'.");
                }
                if (!m.shape.SequenceEqual(s.exp_avg.shape) || !v.shape.SequenceEqual(s.exp_avg_sq.shape))
                {
                    throw new BertSharpException($"{path}: optimizer state of '{name}' has shape [{string.Join(", ", m.shape)}], the parameter [{string.Join(", ", s.exp_avg.shape)}].");
                }
                s.step = step.item<long>();
                s.exp_avg.copy_(m);
                s.exp_avg_sq.copy_(v);
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

    private static List<AdamW.State> AdamStates(optim.Optimizer optimizer, IReadOnlyList<string> names, string path)
    {
        if (optimizer is not OptimizerHelper helper)
        {
            throw new ArgumentException("expected a managed TorchSharp optimizer", nameof(optimizer));
        }
        var states = helper.state_dict().State.Cast<AdamW.State>().ToList();
        if (states.Count != names.Count)
        {
            throw new BertSharpException($"{path}: optimizer has {states.Count} parameters but {names.Count} names were given.");
        }
        return states;
    }

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };
}
