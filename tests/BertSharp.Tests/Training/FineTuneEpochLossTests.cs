using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// A fine-tuning whose batches do not divide by --grad-accum logs what HF Trainer logs: each step's loss the mean of its
/// micro-batches' (the last partial group's of its own), the epoch's training loss the mean of its steps' (HF's
/// <c>train_loss</c>, the summed step losses over the steps), and the learning rate each step used, warm-up from a ratio
/// included. Seeded and in-process, so in the serial collection.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class FineTuneEpochLossTests
{
    /// <summary>Records each micro-batch's loss as the loop reports it.</summary>
    private sealed class Batches : IFineTuneProgress
    {
        public List<double> Losses { get; } = [];

        public void Started(FineTunePlan plan)
        {
        }

        public void EpochStarted(int epoch, int batches)
        {
        }

        public void BatchDone(int epoch, int batch, double loss, double examplesPerSecond) => Losses.Add(loss);

        public void Validating(int epoch)
        {
        }

        public void EpochEnded(EpochSummary summary)
        {
        }
    }

    /// <summary>8 examples, 2 held out: 6 in batches of 2 = 3 batches, --grad-accum 2 → steps of 2 and 1 batches, 2 per epoch, 4 in all; warmup ceil(4 × 0.3) = 2.</summary>
    private static FineTuneOptions Options(string output, Func<TrainingOptions, TrainingOptions>? change = null) => new()
    {
        Task = TaskSpec.Sst2,
        Training = (change ?? (t => t))(new TrainingOptions
        {
            DataPath = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"),
            OutputDir = output,
            ConfigPreset = "tiny",
            VocabPath = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt"),
            Epochs = 2,
            BatchSize = 2,
            GradAccum = 2,
            LearningRate = 1e-3,
            WarmupRatio = 0.3,
            MaxLength = 16,
            Seed = 11,
            Device = "cpu",
        }),
        ValSize = 2,
        Split = SplitMethod.Random,
    };

    [Fact]
    public void Step_and_epoch_losses_and_learning_rates_follow_hf_with_a_partial_last_group()
    {
        using var tmp = TestPaths.TempDir();
        var progress = new Batches();
        var result = FineTuner.Run(Options(tmp.File("run")), progress);

        var m = progress.Losses;
        Assert.Equal(6, m.Count);
        Assert.Equal(4, result.StepLosses.Count);
        // HF: each micro-batch's loss / len(batch_samples), summed over the group: (m0 + m1) / 2, then m2 / 1.
        double[] steps = [(m[0] + m[1]) / 2, m[2], (m[3] + m[4]) / 2, m[5]];
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(steps[i], result.StepLosses[i], 12);
        }
        // HF's train_loss: the step losses summed over the steps (over the micro-batches, (m0 + m1 + m2) / 3, weighs the lone
        // batch of the partial group half as much as the update does).
        Assert.Equal(2, result.Epochs.Count);
        Assert.Equal((steps[0] + steps[1]) / 2, result.Epochs[0].TrainLoss, 12);
        Assert.Equal((steps[2] + steps[3]) / 2, result.Epochs[1].TrainLoss, 12);
        Assert.NotEqual((m[0] + m[1] + m[2]) / 3, result.Epochs[0].TrainLoss, 6);
        // lr_lambda(s) = s / 2 while s < 2, then (4 - s) / (4 - 2), read before the scheduler steps: 0, 0.5, 1, 0.5 of 1e-3.
        var log = TrainLog.Read(Path.Combine(result.OutputDir, TrainLog.FileName));
        Assert.Equal([0, 5e-4, 1e-3, 5e-4], log.Where(e => TrainLog.TypeOf(e) == "train").Select(e => Math.Round(TrainLog.Number(e, "learning_rate"), 15)));
        Assert.Equal(2, TrainLog.Number(log.Single(e => TrainLog.TypeOf(e) == "start"), "warmup_steps"));
    }

    [Fact]
    public void A_checkpoint_holding_the_older_micro_batch_loss_sum_resumes_to_the_same_epoch_loss()
    {
        using var tmp = TestPaths.TempDir();
        var straight = FineTuner.Run(Options(tmp.File("straight")));
        // Stopped after step 1 (a full group of 2 inside epoch 1); the checkpoint rewritten as earlier versions wrote it: the
        // sum of the micro-batches' losses so far, 2 × the step's loss, under epoch_loss_sum.
        Assert.False(FineTuner.Run(Options(tmp.File("split"), t => t with { StopAfter = 1 })).Completed);
        var statePath = tmp.File("split/checkpoint-1/" + TrainerState.FileName);
        var state = JsonNode.Parse(File.ReadAllText(statePath))!.AsObject();
        var task = state["task"]!.AsObject();
        var stepSum = TrainLog.Number(task, "epoch_step_loss_sum");
        Assert.Equal(straight.StepLosses[0], stepSum, 12);
        task.Remove("epoch_step_loss_sum");
        task["epoch_loss_sum"] = 2 * stepSum;
        File.WriteAllText(statePath, state.ToJsonString());

        var rest = FineTuner.Run(Options(tmp.File("split"), t => t with { Resume = true }));
        Assert.Equal(straight.StepLosses, rest.StepLosses);
        Assert.Equal(straight.Epochs.Select(e => e.TrainLoss), rest.Epochs.Select(e => e.TrainLoss), (a, b) => Math.Abs(a - b) <= 1e-12);
    }
}
