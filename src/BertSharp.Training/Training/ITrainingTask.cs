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
    /// caller's dispose scope; the trainer divides it by the number of micro-batches) and records what the task logs. In a
    /// data-parallel run each worker holds a slice of the micro-batch and returns its share of the micro-batch's loss (its
    /// slice's part of the global mean, e.g. its mean × its examples / all workers' examples), so that the sum over the
    /// workers is the loss one process would compute on the whole micro-batch; null when this worker's slice is empty.
    /// </summary>
    Tensor? Loss(TBatch batch, MicroBatch micro);

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
/// Where a data-parallel run combines gradients across workers: called once per optimizer step, after the backward pass of
/// the last micro-batch and before clipping, with the parameters whose <c>grad</c> to reduce. Each worker back-propagated
/// its share of the global loss (<see cref="ITrainingTask{TBatch}.Loss"/>), weighted by its examples or tokens, so the
/// gradient of the global loss is the sum of the workers' gradients, also when their slices differ in size. A single
/// process needs nothing (<see cref="NoGradientSync"/>).
/// </summary>
public interface IGradientSync
{
    /// <summary>Replaces every parameter's gradient by its sum over the workers, in place.</summary>
    void Synchronize(IReadOnlyList<Parameter> parameters);
}

/// <summary>One process, nothing to synchronise.</summary>
public sealed class NoGradientSync : IGradientSync
{
    /// <summary>The shared instance.</summary>
    public static NoGradientSync Instance { get; } = new();

    /// <summary>Does nothing: one process's gradients are already those of the whole batch.</summary>
    /// <param name="parameters">Ignored.</param>
    public void Synchronize(IReadOnlyList<Parameter> parameters)
    {
    }
}
