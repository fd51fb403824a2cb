using BertSharp.Data;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// The tiny seeded fine-tuning run the resume, early-stopping and --eval-steps tests vary: 8 examples of the SST-2 fixture,
/// 2 held out by a shuffled split, the tiny preset, batches of 2, 2 per step (3 batches an epoch: 2 steps, the second of one
/// batch), 3 epochs, --save-best loss.
/// </summary>
internal static class TinySst2Run
{
    public static string Data => Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");

    public static string Vocab => Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt");

    /// <summary>The run's options, <paramref name="change"/> applied to its training settings.</summary>
    public static FineTuneOptions Options(string output, Func<TrainingOptions, TrainingOptions>? change = null) => new()
    {
        Task = TaskSpec.Sst2,
        Training = (change ?? (t => t))(new TrainingOptions
        {
            DataPath = Data,
            OutputDir = output,
            ConfigPreset = "tiny",
            VocabPath = Vocab,
            Epochs = 3,
            BatchSize = 2,
            GradAccum = 2,
            LearningRate = 1e-3,
            MaxLength = 16,
            Seed = 11,
            Device = "cpu",
        }),
        ValSize = 2,
        Split = SplitMethod.Random,
        SaveBest = "loss",
    };
}
