using BertSharp.IO;

namespace BertSharp.Training;

/// <summary>
/// How every training run (fine-tuning, pre-training) writes <c>checkpoint-STEP</c>: the model's files, the optimizer's
/// state, the task's extra files, and last the trainer state, in a staging directory renamed into place. A checkpoint that
/// exists is whole, and resume takes it only once its state is there.
/// </summary>
internal static class TrainingCheckpoint
{
    /// <param name="dir">The checkpoint directory (created, or replaced when it holds an older checkpoint).</param>
    /// <param name="writeModel">Writes the model's files (config, weights, tokenizer) into the staging directory it is given.</param>
    /// <param name="trainer">The trainer whose optimizer state is saved.</param>
    /// <param name="state">The step, settings, data position and generator state to resume from.</param>
    /// <param name="writeExtra">More files of the task (validation metrics), or null.</param>
    public static void Write(string dir, Action<string> writeModel, Trainer trainer, TrainerState state, Action<string>? writeExtra = null) =>
        AtomicFile.WriteDirectory(dir, tmp =>
        {
            writeModel(tmp);
            OptimizerState.Save(Path.Combine(tmp, OptimizerState.FileName), trainer.Optimizer, trainer.OptimizerParameterNames);
            writeExtra?.Invoke(tmp);
            state.Save(Path.Combine(tmp, TrainerState.FileName));
        });
}
