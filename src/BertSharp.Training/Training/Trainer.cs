using System.Text.Json.Nodes;
using BertSharp.Distributed;
using BertSharp.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// Optimiser and schedule settings of a run (AdamW with betas 0.9 / 0.999 and HF's decay groups, the learning-rate schedule
/// of <see cref="LrSchedulerType"/>: linear warm-up and decay unless set).
/// </summary>
/// <param name="LearningRate">Peak learning rate.</param>
/// <param name="Eps">AdamW epsilon.</param>
/// <param name="WeightDecay">Decoupled weight decay (not on biases and LayerNorm weights).</param>
/// <param name="MaxGradNorm">
/// Global gradient-norm clip; 0 disables clipping (so does a negative value here, which <see cref="TrainingOptions"/> and
/// <see cref="Pretraining.PretrainingTrainerOptions"/> refuse).
/// </param>
/// <param name="WarmupSteps">Steps of linear warm-up from 0.</param>
/// <param name="TotalSteps">Steps of the whole run (HF's num_training_steps: linear decay reaches 0 there).</param>
public sealed record OptimizerSettings(double LearningRate, double Eps, double WeightDecay, double MaxGradNorm, long WarmupSteps, long TotalSteps)
{
    /// <summary>HF's <c>lr_scheduler_type</c> (<see cref="LearningRateSchedule.Types"/>); linear by default.</summary>
    public string LrSchedulerType { get; init; } = LearningRateSchedule.DefaultType;

    /// <summary>HF's <c>lr_scheduler_kwargs</c>, or null for the schedule's defaults.</summary>
    public JsonObject? LrSchedulerKwargs { get; init; }

    /// <summary>
    /// HF's <c>bf16=True</c>: every forward pass and loss of the run, validation included, runs inside a
    /// <see cref="MixedPrecision.Bf16"/> scope (bf16 matmuls and attention, float32 everything else); parameters,
    /// gradients, optimizer state and checkpoints stay float32, so a data-parallel run all-reduces float32 gradients as
    /// before. False (the default): float32 throughout.
    /// </summary>
    public bool Bf16 { get; init; }
}

/// <summary>The outcome of one optimizer step.</summary>
/// <param name="Step">1-based step number.</param>
/// <param name="LearningRate">The learning rate the step used.</param>
/// <param name="GradNorm">Global gradient norm before clipping (NaN when clipping is off).</param>
/// <param name="Task">The task's loss and metrics of the step.</param>
public sealed record StepOutcome(long Step, double LearningRate, double GradNorm, StepMetrics Task);

/// <summary>
/// The optimisation step of every BERT training in BertSharp (fine-tuning and pre-training), as HF's Trainer does it: for each
/// micro-batch forward + backward of loss / n, then the gradient sync hook, global-norm clipping, the learning rate of the
/// schedule for this step, AdamW, zero the gradients.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly IGradientSync _sync;
    private DataParallel? _dataParallel;

    /// <param name="model">The model to train (put in train mode here).</param>
    /// <param name="settings">Optimiser and schedule.</param>
    /// <param name="sync">Gradient averaging across workers; none by default.</param>
    /// <exception cref="BertSharpException">
    /// The learning rate is negative or NaN, <see cref="OptimizerSettings.TotalSteps"/> is below 1 or the schedule is refused
    /// (<see cref="LearningRateSchedule"/>).
    /// </exception>
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
        Schedule = new LearningRateSchedule(settings.LearningRate, settings.WarmupSteps, settings.TotalSteps, settings.LrSchedulerType, settings.LrSchedulerKwargs);
    }

    /// <summary>
    /// The trainer of one rank of a data-parallel group: first copies rank 0's parameters to every rank (each built or loaded
    /// the same model; this makes sure of it), then sums the ranks' gradient shares at every step. With one process
    /// (<see cref="LocalCommunicator"/>) a plain trainer.
    /// </summary>
    /// <param name="model">The model to train, already on its device.</param>
    /// <param name="settings">Optimiser and schedule.</param>
    /// <param name="communicator">The group.</param>
    public static Trainer ForRanks(BertPreTrainedModel model, OptimizerSettings settings, ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(communicator);
        // The ranks read, tokenize and load at their own pace before this first collective, and on a busy machine one can
        // be seconds behind another; they meet here without the collective timeout, which is for ranks stuck or gone
        // between steps (a rank that dies meanwhile still ends the job through the launcher).
        communicator.BarrierWithoutTimeout();
        var dataParallel = new DataParallel(communicator, model.NamedParameters());
        try
        {
            dataParallel.BroadcastParameters();
            return new Trainer(model, settings, communicator.WorldSize > 1 ? new DataParallelGradientSync(dataParallel) : null) { _dataParallel = dataParallel };
        }
        catch
        {
            dataParallel.Dispose();
            throw;
        }
    }

    /// <summary>The model being trained.</summary>
    public BertPreTrainedModel Model { get; }

    /// <summary>The settings.</summary>
    public OptimizerSettings Settings { get; }

    /// <summary>AdamW over the model's parameters (HF decay groups).</summary>
    public AdamW Optimizer { get; }

    /// <summary>The learning-rate schedule.</summary>
    public LearningRateSchedule Schedule { get; }

    /// <summary>Parameter names in the optimizer's state order (what <see cref="OptimizerState"/> saves under).</summary>
    public IReadOnlyList<string> OptimizerParameterNames { get; }

    /// <summary>Optimizer steps taken (set when resuming).</summary>
    public long StepsDone { get; set; }

    /// <summary>
    /// One optimizer step over <paramref name="microBatches"/> (gradient accumulation): each is built, run and
    /// back-propagated inside its own dispose scope.
    /// </summary>
    /// <exception cref="BertSharpException">The step's loss is NaN or infinite (checked before the optimizer changes the weights).</exception>
    public StepOutcome Step<TBatch>(IReadOnlyList<Func<TBatch>> microBatches, ITrainingTask<TBatch> task)
    {
        ArgumentNullException.ThrowIfNull(microBatches);
        ArgumentNullException.ThrowIfNull(task);
        Model.train();
        var n = microBatches.Count;
        for (var i = 0; i < n; i++)
        {
            using var scope = NewDisposeScope();
            // Null: this worker's slice of the micro-batch is empty (data-parallel); its gradient share is zero. Only the
            // forward pass and loss run under the policy, as under torch.autocast: backward follows the dtypes the forward
            // recorded, and the float32 gradients then reach the sync and the optimizer unchanged.
            Tensor? loss;
            using (Policy())
            {
                loss = task.Loss(microBatches[i](), new MicroBatch(StepsDone + 1, i, n));
            }
            if (loss is null)
            {
                continue;
            }
            if (n == 1)
            {
                loss.backward();
            }
            else
            {
                // An explicit Scalar that lives past the call: TorchSharp's implicit one can be freed by the GC during it.
                using var micro = n.ToScalar();
                loss.div(micro).backward();
            }
        }
        // Before the optimizer step: a non-finite loss would only write NaN weights (and NaN checkpoints) from here on. The
        // step's loss is summed across the ranks, so every rank stops at the same step instead of one waiting on the others.
        var metrics = task.EndStep();
        if (!double.IsFinite(metrics.Loss))
        {
            throw new BertSharpException(
                Invariant($"the training loss became {metrics.Loss} at step {StepsDone + 1}; lower {BertSharpException.Field("learning_rate")} or check the training data."));
        }
        double gradNorm, lr;
        using (NewDisposeScope())
        {
            _sync.Synchronize(_parameters);
            gradNorm = Settings.MaxGradNorm > 0 ? GradientClipping.ClipByGlobalNorm(_parameters, Settings.MaxGradNorm) : double.NaN;
            lr = Schedule.LearningRate(StepsDone);
            Schedule.Apply(Optimizer, StepsDone);
            Optimizer.step();
            Optimizer.zero_grad();
        }
        StepsDone++;
        return new StepOutcome(StepsDone, lr, gradNorm, metrics);
    }

    /// <summary>
    /// The one training loop of fine-tuning and pre-training: from <see cref="StepsDone"/> to <paramref name="totalSteps"/>,
    /// each step takes its micro-batches from <paramref name="data"/>, runs <see cref="Step{TBatch}"/> and then the hooks (log,
    /// evaluate, checkpoint). Cancellation is checked before every step, so a cancelled run stops between steps, after the
    /// last complete checkpoint its hooks wrote. Returns the steps this call took.
    /// </summary>
    public long Run<TBatch>(ITrainingTask<TBatch> task, ITrainingData<TBatch> data, long totalSteps, IReadOnlyList<ITrainingHook> hooks,
        CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(hooks);
        long taken = 0;
        while (StepsDone < totalSteps)
        {
            cancel.ThrowIfCancellationRequested();
            var step = StepsDone + 1;
            foreach (var h in hooks)
            {
                h.BeforeStep(step);
            }
            var outcome = Step(data.MicroBatches(step), task);
            taken++;
            var go = true;
            // The hooks validate: HF's prediction_step runs under autocast too, so the validation loss is the bf16 model's.
            using (Policy())
            {
                foreach (var h in hooks)
                {
                    go &= h.AfterStep(outcome);
                }
            }
            if (!go)
            {
                break;
            }
        }
        return taken;
    }

    private IDisposable? Policy() => Settings.Bf16 ? MixedPrecision.Bf16() : null;

    /// <summary>
    /// Frees the optimizer's state tensors and a data-parallel trainer's staging buffers; the model is the caller's and stays
    /// usable.
    /// </summary>
    public void Dispose()
    {
        Optimizer.Dispose();
        _dataParallel?.Dispose();
    }
}
