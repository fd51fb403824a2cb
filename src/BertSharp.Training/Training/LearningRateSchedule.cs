using System.Text.Json.Nodes;
using TorchSharp;

namespace BertSharp.Training;

/// <summary>
/// HF's <c>get_scheduler</c>: the learning rate of every optimizer step as the base rate times the factor of the named
/// schedule (HF's <c>lr_scheduler_type</c>, with its <c>lr_scheduler_kwargs</c>), over <see cref="WarmupSteps"/> of linear
/// warm-up from 0 (all but <c>constant</c>) and a run of <see cref="TotalSteps"/>. The default, <c>linear</c>, is HF's
/// <c>get_linear_schedule_with_warmup</c>.
/// </summary>
public sealed class LearningRateSchedule
{
    /// <summary>HF's default <c>lr_scheduler_type</c>: linear warm-up, then linear decay to 0.</summary>
    public const string DefaultType = "linear";

    /// <summary>
    /// The <c>lr_scheduler_type</c> names this schedule takes: HF's SchedulerType, in its order.
    /// </summary>
    public static IReadOnlyList<string> Types { get; } =
    [
        "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt", ReduceLrOnPlateau.Type,
        "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay",
    ];

    /// <summary>
    /// Whether <paramref name="type"/> is HF's reduce_lr_on_plateau, whose rate changes with each validation's metric
    /// (<see cref="Step"/>) instead of with the step: it needs validation data.
    /// </summary>
    public static bool FollowsValidation(string type) => type == ReduceLrOnPlateau.Type;

    private readonly Func<long, double> _factor;

    /// <summary>The schedule of a run of <paramref name="totalSteps"/> optimizer steps.</summary>
    /// <param name="baseLearningRate">The peak rate, reached at the end of the warm-up (polynomial's and cosine_with_min_lr's lr_init).</param>
    /// <param name="warmupSteps">Steps of linear rise from 0; with 0 the run starts at the peak.</param>
    /// <param name="totalSteps">Steps of the whole run (HF's num_training_steps).</param>
    /// <param name="type">HF's <c>lr_scheduler_type</c>, one of <see cref="Types"/>.</param>
    /// <param name="kwargs">HF's <c>lr_scheduler_kwargs</c>; null or empty for the schedule's defaults.</param>
    /// <exception cref="BertSharpException">
    /// Negative warm-up steps, total steps below 1, an unknown type, or kwargs the schedule's HF function would refuse (a key it does not take, a value
    /// of the wrong type, polynomial's lr_end not below the rate, cosine_with_min_lr without exactly one of min_lr and min_lr_rate).
    /// </exception>
    public LearningRateSchedule(double baseLearningRate, long warmupSteps, long totalSteps, string type = DefaultType, JsonObject? kwargs = null)
    {
        if (warmupSteps < 0)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("warmup_steps")} {warmupSteps}: expected a number ≥ 0."));
        }
        // A run of 0 steps trains nothing: a caller that computed it from empty data or a slipped count would otherwise
        // build a trainer that silently never reaches its schedule.
        if (totalSteps < 1)
        {
            throw new BertSharpException(Invariant($"total_steps {totalSteps}: expected at least 1 optimizer step."));
        }
        BaseLearningRate = baseLearningRate;
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
        Type = type ?? throw new ArgumentNullException(nameof(type));
        _factor = LearningRateFactors.Of(type, new SchedulerKwargs(type, kwargs), baseLearningRate, warmupSteps, totalSteps, out var plateau);
        Plateau = plateau;
    }

    /// <summary>The state of a reduce_lr_on_plateau schedule; null for the others.</summary>
    internal ReduceLrOnPlateau? Plateau { get; }

    /// <summary>
    /// Throws the <see cref="BertSharpException"/> the constructor would for <paramref name="type"/> and
    /// <paramref name="kwargs"/> at <paramref name="baseLearningRate"/>, so that options are refused before a run starts.
    /// </summary>
    public static void Check(string type, JsonObject? kwargs, double baseLearningRate) => _ = new LearningRateSchedule(baseLearningRate, 0, 1, type, kwargs);

    /// <summary>
    /// Every argument <paramref name="type"/> runs with under <paramref name="kwargs"/> at <paramref name="baseLearningRate"/>,
    /// defaults filled in: equal results schedule alike, however the kwargs were spelled.
    /// </summary>
    internal static JsonObject ResolvedKwargs(string type, JsonObject? kwargs, double baseLearningRate)
    {
        var read = new SchedulerKwargs(type, kwargs);
        _ = LearningRateFactors.Of(type, read, baseLearningRate, 0, 1, out _);
        return read.Resolved;
    }

    /// <summary>The peak learning rate, the one <see cref="Factor"/> multiplies.</summary>
    public double BaseLearningRate { get; }

    /// <summary>Scheduler steps of linear warm-up from 0 to <see cref="BaseLearningRate"/>.</summary>
    public long WarmupSteps { get; }

    /// <summary>Scheduler steps of the whole run.</summary>
    public long TotalSteps { get; }

    /// <summary>HF's <c>lr_scheduler_type</c> of the schedule.</summary>
    public string Type { get; }

    /// <summary>
    /// The multiplier of the base rate at scheduler step <paramref name="step"/> (HF's lr_lambda); for reduce_lr_on_plateau
    /// the rate now over the base rate, whatever the step.
    /// </summary>
    public double Factor(long step) => _factor(step);

    /// <summary>
    /// The learning rate used by the optimizer step taken after <paramref name="step"/> scheduler steps; for
    /// reduce_lr_on_plateau the rate its validations have left, whatever the step.
    /// </summary>
    public double LearningRate(long step) => Plateau?.LearningRate ?? BaseLearningRate * Factor(step);

    /// <summary>
    /// reduce_lr_on_plateau's step (torch's <c>ReduceLROnPlateau.step(metrics)</c>) with one validation's
    /// <paramref name="metric"/>; the other schedules follow the optimizer steps alone and ignore it.
    /// </summary>
    public void Step(double metric) => Plateau?.Step(metric);

    /// <summary>Sets every parameter group of <paramref name="optimizer"/> to <see cref="LearningRate"/>(<paramref name="step"/>).</summary>
    public void Apply(torch.optim.Optimizer optimizer, long step)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var lr = LearningRate(step);
        foreach (var g in optimizer.ParamGroups)
        {
            g.LearningRate = lr;
        }
    }
}
