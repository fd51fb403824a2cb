using System.Globalization;
using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// <c>--save-best</c> for the task heads (as <see cref="FineTuneEndToEndTests"/> for classification): the saved weights are
/// bitwise the checkpoint of the epoch whose validation score in train_log.jsonl is the best, the closing line names that
/// epoch, a resumed run keeps the best-so-far, and a metric the task's validation does not report is refused before any output.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class HeadFineTuneSaveBestTests
{
    private const int Epochs = 4;

    private static readonly string Config = Path.Combine(TestPaths.Fixtures, "hf_bert", "token-classification", "config.json");
    private static readonly string Vocab = Path.Combine(TestPaths.Fixtures, "hf_bert", "token-classification", "vocab.txt");

    // 16 sentences in batches of 8: 2 steps per epoch.
    private const int StepsPerEpoch = 2;

    private static string[] Ner(TempDir tmp, string output, params string[] extra)
    {
        if (!File.Exists(tmp.File("train.conll")))
        {
            HeadFineTuneEndToEndTests.WriteConll(tmp.File("train.conll"), HeadFineTuneEndToEndTests.NerSentences(16, 1));
            HeadFineTuneEndToEndTests.WriteConll(tmp.File("dev.conll"), HeadFineTuneEndToEndTests.NerSentences(8, 2));
        }
        // Seed and rate chosen so that validation F1 falls after epoch 1 and peaks at epoch 3 of 4 (0.54, 0.19, 0.79, 0.77).
        return ["finetune", "--task", "ner", "--data", tmp.File("train.conll"), "--eval-data", tmp.File("dev.conll"), "--epochs", Epochs.ToString(CultureInfo.InvariantCulture),
            "--max-length", "24", "--config", Config, "--vocab", Vocab, "--lr", "5e-3", "--batch-size", "8", "--device", "cpu", "--seed", "3", "--output", tmp.File(output), .. extra];
    }

    private static List<JsonObject> EpochEntries(string model) =>
        [.. TrainLog.Read(Path.Combine(model, TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "epoch")];

    private static List<double> F1s(string model) => [.. EpochEntries(model).Select(e => (double)e["validation"]!["f1"]!)];

    [Fact]
    public void Ner_keeps_the_weights_of_the_epoch_of_highest_validation_f1_bitwise_and_says_which()
    {
        using var tmp = TestPaths.TempDir();
        var model = tmp.File("best");
        // Typed relative, as a user types it: the closing line named the full path the run resolved it to.
        var typed = Path.GetRelativePath(Environment.CurrentDirectory, model);
        var run = CliRunner.Run([.. Ner(tmp, "best", "--save-best", "f1").Select(a => a == model ? typed : a)]);
        Assert.True(run.ExitCode == 0, run.StdErr + run.StdOut);

        // The reference: the epoch of the highest validation F1 in the log, the first of equals.
        var scores = F1s(model);
        Assert.Equal(Epochs, scores.Count);
        var best = scores.IndexOf(scores.Max()) + 1;
        Assert.True(best is > 1 and < Epochs, $"validation F1 {string.Join(", ", scores)}: the best is the first or the last epoch");
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"\nsaved {typed} (epoch {best} of {Epochs}, best by f1; validation: f1 "), run.StdOut, StringComparison.Ordinal);
        Assert.Equal("f1", (string)JsonNode.Parse(File.ReadAllText(Path.Combine(model, "training_args.json")))!["save_best"]!);
        Assert.Equal(scores[best - 1], (double)JsonNode.Parse(File.ReadAllText(Path.Combine(model, "metrics.json")))!["metrics"]!["f1"]!);
        // Every metric the task declares is one its validation reports.
        Assert.All(HeadFineTuner.TokenClassificationMetricNames, m => Assert.NotNull(EpochEntries(model)[0]["validation"]![m]));

        // The same run stopped at the end of that epoch: its checkpoint holds that epoch's weights.
        var stopped = CliRunner.Run(Ner(tmp, "stopped", "--save-best", "f1", "--stop-after", (best * StepsPerEpoch).ToString(CultureInfo.InvariantCulture)));
        Assert.True(stopped.ExitCode == 0, stopped.StdErr + stopped.StdOut);
        Assert.Equal(File.ReadAllBytes(tmp.File($"stopped/checkpoint-{best * StepsPerEpoch}/model.safetensors")), File.ReadAllBytes(Path.Combine(model, "model.safetensors")));
    }

    [Fact]
    public void Resumed_ner_run_keeps_the_best_epoch_of_the_uninterrupted_run()
    {
        using var tmp = TestPaths.TempDir();
        var straight = CliRunner.Run(Ner(tmp, "straight", "--save-best", "f1"));
        Assert.True(straight.ExitCode == 0, straight.StdErr + straight.StdOut);
        var scores = F1s(tmp.File("straight"));
        var best = scores.IndexOf(scores.Max()) + 1;
        Assert.True(best < Epochs, $"validation F1 {string.Join(", ", scores)}: the best is the last epoch");

        // Stopped after the best epoch, so that only the checkpoint's state knows which epoch that was and its score (the
        // later epoch, below it, must not take its place).
        var stopAt = (best * StepsPerEpoch) + 1;
        var first = CliRunner.Run(Ner(tmp, "split", "--save-best", "f1", "--stop-after", stopAt.ToString(CultureInfo.InvariantCulture)));
        Assert.True(first.ExitCode == 0, first.StdErr + first.StdOut);
        // Another metric is another run: refused by name, the checkpoint left for the resume below.
        CliRunner.Run(Ner(tmp, "split", "--save-best", "loss", "--resume")).AssertOneLineError("--save-best", "cannot resume");
        var rest = CliRunner.Run(Ner(tmp, "split", "--save-best", "f1", "--resume"));
        Assert.True(rest.ExitCode == 0, rest.StdErr + rest.StdOut);
        Assert.Equal(File.ReadAllBytes(tmp.File("straight/model.safetensors")), File.ReadAllBytes(tmp.File("split/model.safetensors")));
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $" (epoch {best} of {Epochs}, best by f1;"), rest.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void A_metric_the_task_does_not_report_or_a_run_without_validation_is_refused_before_any_output()
    {
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("out");
        var ner = Ner(tmp, "out");
        CliRunner.Run([.. ner, "--save-best", "mcc"])
            .AssertOneLineError("--save-best mcc: expected one of f1, precision, recall, accuracy, loss.");
        CliRunner.Run([.. ner.Where((_, i) => i is not (5 or 6)), "--save-best", "f1"])
            .AssertOneLineError("--save-best f1: needs validation data (a validation file: --eval-data).");

        var swag = tmp.File("s.csv");
        File.WriteAllText(swag, HeadFineTuneEndToEndTests.SwagCsv(4, 1));
        CliRunner.Run(["finetune", "--task", "swag", "--data", swag, "--eval-data", swag, "--save-best", "f1", .. HeadFineTuneEndToEndTests.Common(output)])
            .AssertOneLineError("--save-best f1: expected one of accuracy, loss.");

        // SQuAD v1.1 validation has neither best_f1 nor the HasAns_ / NoAns_ scores; v2.0 with every question answerable no NoAns_ ones.
        var (train, v1, answerable) = (tmp.File("train.json"), tmp.File("v1.json"), tmp.File("answerable.json"));
        File.WriteAllText(train, SquadData.ToJson(HeadFineTuneEndToEndTests.QaExamples(6, 1, 0.5)));
        File.WriteAllText(v1, SquadData.ToJson(HeadFineTuneEndToEndTests.QaExamples(4, 2, 0)));
        File.WriteAllText(answerable, File.ReadAllText(v1).Replace("\"version\":\"1.1\"", "\"version\":\"v2.0\"", StringComparison.Ordinal));
        string[] Squad(string eval, string metric) =>
            ["finetune", "--task", "squad", "--data", train, "--eval-data", eval, "--save-best", metric, "--max-length", "32", .. HeadFineTuneEndToEndTests.Common(output)];
        CliRunner.Run(Squad(v1, "accuracy"))
            .AssertOneLineError("--save-best accuracy: expected one of exact, f1, best_exact, best_f1, HasAns_exact, HasAns_f1, NoAns_exact, NoAns_f1.");
        CliRunner.Run(Squad(v1, "best_f1")).AssertOneLineError($"--save-best best_f1: expected one of exact, f1 (those the validation data {v1} gives).");
        CliRunner.Run(Squad(answerable, "NoAns_f1"))
            .AssertOneLineError($"--save-best NoAns_f1: expected one of exact, f1, best_exact, best_f1, HasAns_exact, HasAns_f1 (those the validation data {answerable} gives).");
        Assert.False(Directory.Exists(output), "no output for bad input");

        // The library names the field.
        var e = Assert.Throws<BertSharpException>(() => HeadFineTuner.Run(new HeadFineTuneOptions
        {
            Task = HeadTask.TokenClassification,
            Training = new TrainingOptions { DataPath = tmp.File("train.conll"), OutputDir = output, ConfigPreset = "tiny", VocabPath = Path.Combine(TestPaths.Fixtures, "hf_bert", "token-classification", "vocab.txt"), Device = "cpu" },
            SaveBest = "loss",
        }));
        Assert.Equal("save_best loss: needs validation data (a validation file: eval_data).", e.Message);
        Assert.Equal(["save_best", "eval_data"], e.Fields);
        Assert.False(Directory.Exists(output), "no output for bad input");
    }

    [Fact]
    public void Reduce_lr_on_plateau_watching_a_seqeval_score_in_torchs_default_mode_warns_once_with_the_plan()
    {
        using var tmp = TestPaths.TempDir();
        // seqeval's recall rises as the tagger improves, so mode "min" would lower the rate at every gain. The warning comes
        // with the plan, before the first step: one step is enough.
        var r = CliRunner.Run(Ner(tmp, "run", "--save-best", "recall", "--lr-scheduler", "reduce_lr_on_plateau", "--stop-after", "1"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        var warning = Assert.Single(r.StdErr.Split('\n'), l => l.StartsWith("warning: --lr-scheduler", StringComparison.Ordinal));
        Assert.Equal("warning: --lr-scheduler reduce_lr_on_plateau watches --save-best recall in torch's default mode \"min\", as HF does, so it lowers the rate "
            + "when recall improves; give --lr-scheduler-kwargs '{\"mode\":\"max\"}' to lower it when recall stops rising.", warning);
    }
}
