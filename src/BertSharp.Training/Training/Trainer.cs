using BertSharp.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// The per-task part of training: how a micro-batch becomes a loss, and what the task reports about a step. Everything
/// else (accumulation, gradient sync, clipping, schedule, AdamW, logging, checkpoints, resume) is the trainer's.
/// </summary>
/// <typeparam name="TBatch">The collated micro-batch.</typeparam>
public interface ITrainingTask<in TBatch>
{
    /// <summary>
    /// Forward pass of one micro-batch (the model is in training mode): returns the loss to back-propagate (a scalar in the
    /// caller's dispose scope; the trainer divides it by the number of micro-batches) and records what the task logs.
    /// </summary>
    Tensor Loss(TBatch batch, MicroBatch micro);

    /// <summary>The step's loss (as the task averages it) and metrics, after its last micro-batch; resets the task's accumulators.</summary>
    StepMetrics EndStep();
}

/// <summary>Which micro-batch a task is given.</summary>
/// <param name="Step">The optimizer step (1-based).</param>
/// <param name="Index">Its position among the step's micro-batches (0-based).</param>
/// <param name="Count">The step's number of micro-batches.</param>
public readonly record struct MicroBatch(long Step, int Index, int Count);

/// <summary>What a task reports about one optimizer step.</summary>
/// <param name="Loss">The step's training loss.</param>
/// <param name="Metrics">Further values to log (snake_case names), e.g. <c>masked_lm_loss</c>.</param>
public sealed record StepMetrics(double Loss, IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// Where a data-parallel run averages gradients across workers: called once per optimizer step, after the backward pass of
/// the last micro-batch and before clipping, with the parameters whose <c>grad</c> to reduce. A single process needs nothing
/// (<see cref="NoGradientSync"/>).
/// </summary>
public interface IGradientSync
{
    /// <summary>Replaces every parameter's gradient by its average over the workers, in place.</summary>
    void Synchronize(IReadOnlyList<Parameter> parameters);
}

/// <summary>One process, nothing to synchronise.</summary>
public sealed class NoGradientSync : IGradientSync
{
    /// <summary>The shared instance.</summary>
    public static NoGradientSync Instance { get; } = new();

    public void Synchronize(IReadOnlyList<Parameter> parameters)
    {
    }
}

/// <summary>Optimiser and schedule settings of a run (AdamW with betas 0.9 / 0.999 and HF's decay groups, linear warm-up and decay).</summary>
/// <param name="LearningRate">Peak learning rate.</param>
/// <param name="Eps">AdamW epsilon.</param>
/// <param name="WeightDecay">Decoupled weight decay (not on biases and LayerNorm weights).</param>
/// <param name="MaxGradNorm">Global gradient-norm clip; 0 or less disables clipping.</param>
/// <param name="WarmupSteps">Steps of linear warm-up from 0.</param>
/// <param name="TotalSteps">Steps of the whole run (the learning rate reaches 0 there).</param>
public sealed record OptimizerSettings(double LearningRate, double Eps, double WeightDecay, double MaxGradNorm, long WarmupSteps, long TotalSteps);

/// <summary>The outcome of one optimizer step.</summary>
/// <param name="Step">1-based step number.</param>
/// <param name="LearningRate">The learning rate the step used.</param>
/// <param name="GradNorm">Global gradient norm before clipping (NaN when clipping is off).</param>
/// <param name="Task">The task's loss and metrics of the step.</param>
public sealed record StepOutcome(long Step, double LearningRate, double GradNorm, StepMetrics Task);

/// <summary>
/// The optimisation step of every BERT training in BertSharp (fine-tuning and pre-training), as HF's Trainer does it: for each
/// micro-batch forward + backward of loss / n, then the gradient sync hook, global-norm clipping, the learning rate of the
/// linear schedule for this step, AdamW, zero the gradients.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly IGradientSync _sync;

    /// <param name="model">The model to train (put in train mode here).</param>
    /// <param name="settings">Optimiser and schedule.</param>
    /// <param name="sync">Gradient averaging across workers; none by default.</param>
    public Trainer(BertPreTrainedModel model, OptimizerSettings settings, IGradientSync? sync = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Settings = settings ?? throw new ArgumentNullException(nameof(settings));
        Model = model;
        _sync = sync ?? NoGradientSync.Instance;
        _parameters = [.. model.NamedParameters().Select(p => p.Param).Where(p => p.requires_grad)];
        Optimizer = AdamWFactory.Create(model, new AdamWOptions(settings.LearningRate, 0.9, 0.999, settings.Eps, settings.WeightDecay));
        // Names in the optimizer's state order: AdamWFactory puts the decay group first, then the no-decay group.
        var (decay, noDecay) = AdamWFactory.Split(model.NamedParameters(), DecayRule.HuggingFace);
        OptimizerParameterNames = [.. decay.Select(p => p.Name), .. noDecay.Select(p => p.Name)];
        Schedule = new LinearWarmupSchedule(settings.LearningRate, settings.WarmupSteps, settings.TotalSteps);
    }

    /// <summary>The model being trained.</summary>
    public BertPreTrainedModel Model { get; }

    /// <summary>The settings.</summary>
    public OptimizerSettings Settings { get; }

    /// <summary>AdamW over the model's parameters (HF decay groups).</summary>
    public AdamW Optimizer { get; }

    /// <summary>The learning-rate schedule.</summary>
    public LinearWarmupSchedule Schedule { get; }

    /// <summary>Parameter names in the optimizer's state order (what <see cref="OptimizerState"/> saves under).</summary>
    public IReadOnlyList<string> OptimizerParameterNames { get; }

    /// <summary>Optimizer steps taken (set when resuming).</summary>
    public long StepsDone { get; set; }

    /// <summary>
    /// One optimizer step over <paramref name="microBatches"/> (gradient accumulation): each is built, run and
    /// back-propagated inside its own dispose scope.
    /// </summary>
    public StepOutcome Step<TBatch>(IReadOnlyList<Func<TBatch>> microBatches, ITrainingTask<TBatch> task)
    {
        ArgumentNullException.ThrowIfNull(microBatches);
        ArgumentNullException.ThrowIfNull(task);
        Model.train();
        var n = microBatches.Count;
        for (var i = 0; i < n; i++)
        {
            using var scope = NewDisposeScope();
            var loss = task.Loss(microBatches[i](), new MicroBatch(StepsDone + 1, i, n));
            (n == 1 ? loss : loss / n).backward();
        }
        _sync.Synchronize(_parameters);
        var gradNorm = Settings.MaxGradNorm > 0 ? GradientClipping.ClipByGlobalNorm(_parameters, Settings.MaxGradNorm) : double.NaN;
        var lr = Schedule.LearningRate(StepsDone);
        Schedule.Apply(Optimizer, StepsDone);
        Optimizer.step();
        Optimizer.zero_grad();
        StepsDone++;
        return new StepOutcome(StepsDone, lr, gradNorm, task.EndStep());
    }

    public void Dispose() => Optimizer.Dispose();
}
