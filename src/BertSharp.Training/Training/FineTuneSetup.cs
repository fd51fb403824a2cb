using BertSharp.Distributed;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Runtime;
using TorchSharp;

namespace BertSharp.Training;

/// <summary>
/// What both fine-tuning entry points (<see cref="FineTuner"/> and <see cref="HeadFineTuner"/>) settle, in the same order,
/// before they read any data and after they build the model: one place, so that the two kinds of run refuse a bad output
/// directory, model or freezing setting alike, and build their trainer alike (which the bitwise resume relies on).
/// </summary>
/// <param name="Communicator">The data-parallel group (a one-process group when none was given).</param>
/// <param name="Writer">Whether this rank writes the log, checkpoints and model (rank 0).</param>
/// <param name="Progress">The caller's progress sink on the writing rank, null on the others.</param>
/// <param name="ExampleDropout">Dropout keyed by example: asked for, or needed to make a data-parallel run match one process.</param>
/// <param name="Device">The resolved training device.</param>
/// <param name="BatchSize">The global batch size.</param>
/// <param name="Checkpoint">The checkpoint a resumed run continues from, or null.</param>
/// <param name="Source">The model (or preset) and tokenizer the run starts from.</param>
/// <param name="Length">The sequence length the run trains to.</param>
internal sealed record FineTuneSetup(ICommunicator Communicator, bool Writer, IFineTuneProgress? Progress, bool ExampleDropout,
    torch.Device Device, int BatchSize, string? Checkpoint, ModelSource Source, ResolvedLength Length)
{
    /// <summary>The checks and choices that need no data, made before anything is read or written.</summary>
    /// <param name="t">The run's shared training settings.</param>
    /// <param name="exampleDropout">Whether the caller asked for example-keyed dropout.</param>
    /// <param name="batchSize">The global batch size (the task's default when the settings give none).</param>
    /// <param name="taskMaxLength">The task's default sequence length.</param>
    /// <param name="progress">The caller's progress sink.</param>
    /// <param name="communicator">The data-parallel group, or null for one process.</param>
    public static FineTuneSetup Begin(TrainingOptions t, bool exampleDropout, int batchSize, int taskMaxLength, IFineTuneProgress? progress,
        ICommunicator? communicator)
    {
        var comm = communicator ?? new LocalCommunicator();
        var writer = comm.IsWriter();
        TorchRuntime.EnsureLoaded();
        var device = TorchRuntime.ResolveDevice(t.Device);
        DataParallelRun.CheckBatchSize(comm, batchSize);
        var checkpoint = RunDirectory.Check(t.OutputDir, t.Resume, t.Overwrite, FineTuner.Kind);
        var source = ClassifierCheckpoint.Describe(t.ModelDir, t.ConfigPreset, t.VocabPath, t.Lowercase);
        ParameterFreezing.Check(t.FreezeEncoder, t.FreezeLayers, source.Config.NumHiddenLayers);
        return new(comm, writer, writer ? progress : null, exampleDropout || comm.WorldSize > 1, device, batchSize, checkpoint, source,
            source.Length(t.MaxLength, taskMaxLength));
    }

    /// <summary>
    /// Freezes what the settings ask, moves the model to the device and builds its trainer, with a resumed run's optimizer
    /// and schedule state restored.
    /// </summary>
    /// <returns>The trainer (the caller disposes it), the trainable/total counts when something was frozen, and the parameter count.</returns>
    public (Trainer Trainer, (long Trainable, long Total)? Frozen, long Parameters) Trainer(BertPreTrainedModel model, TrainingOptions t, long warmup,
        long totalSteps, TrainerState? state)
    {
        var frozen = ParameterFreezing.Apply(model, t.FreezeEncoder, t.FreezeLayers);
        model.to(Device);
        var trainer = Training.Trainer.ForRanks(model, new OptimizerSettings(t.LearningRate, t.Eps, t.WeightDecay, t.MaxGradNorm, warmup, totalSteps)
            {
                LrSchedulerType = t.LrSchedulerType, LrSchedulerKwargs = t.LrSchedulerKwargs, Bf16 = t.Bf16,
            },
            Communicator);
        try
        {
            FineTuneLoop.RestoreOptimizer(trainer, state, Checkpoint);
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
        return (trainer, frozen, model.NamedParameters().Sum(p => p.Param.numel()));
    }
}
