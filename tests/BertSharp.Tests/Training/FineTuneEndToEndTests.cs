using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// Whole runs on a few examples with the tiny preset and the 512-token fixture vocabulary (seconds): the saved directory,
/// evaluate and predict on it, determinism, and the bad-input contract (exit 2, one line naming file/line/field, no output).
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class FineTuneEndToEndTests
{
    private static string Data(string name) => Path.Combine(TestPaths.Fixtures, "data", name);

    private static string Vocab => Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt");

    private static string[] Finetune(string output, params string[] extra) =>
    [
        "finetune", "--task", "sst2", "--data", Data("sst2_train.tsv"), "--eval-data", Data("sst2_train.tsv"), "--output", output,
        "--config", "tiny", "--vocab", Vocab, "--epochs", "3", "--batch-size", "4", "--lr", "1e-3", "--max-length", "24", "--device", "cpu",
        .. extra,
    ];

    [Fact]
    public void Finetune_saves_an_hf_directory_that_evaluate_and_predict_agree_on()
    {
        using var tmp = TestPaths.TempDir();
        var model = tmp.File("model");
        // Typed relative, as a user types it: the closing line named the full path the run resolved it to.
        var typed = Path.GetRelativePath(Environment.CurrentDirectory, model);
        var run = CliRunner.Run(Finetune(typed, "--save-best", "accuracy"));
        Assert.True(run.ExitCode == 0, run.StdErr);
        foreach (var f in new[] { "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
                     "train_log.jsonl", "loss.png", "metrics.json", "training_args.json", "README.md" })
        {
            Assert.True(File.Exists(Path.Combine(model, f)), f + " missing");
        }
        Assert.Equal(["model"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName));

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!;
        Assert.Equal("negative", (string)config["id2label"]!["0"]!);
        Assert.Equal(1, (int)config["label2id"]!["positive"]!);
        Assert.Equal("single_label_classification", (string)config["problem_type"]!);
        Assert.Equal("BertForSequenceClassification", (string)config["architectures"]![0]!);
        Assert.Equal(512, (int)config["vocab_size"]!);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(Path.Combine(model, "loss.png"))[..4]);

        // 8 examples / batch 4 = 2 steps per epoch, 3 epochs.
        var log = File.ReadAllLines(Path.Combine(model, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(6, log.Count(l => (string)l["type"]! == "train"));
        var epochs = log.Where(l => (string)l["type"]! == "epoch").ToList();
        Assert.Equal(3, epochs.Count);
        // --save-best keeps the first epoch of the highest accuracy (HF's Trainer: a tie does not replace the best). This run's
        // accuracy ties across epochs, so keeping another epoch shows in the validation loss.
        var accuracies = epochs.Select(e => (double)e["validation"]!["accuracy"]!).ToList();
        var best = accuracies.IndexOf(accuracies.Max());
        Assert.True(best < epochs.Count - 1, $"accuracies {string.Join(", ", accuracies)}: the best is first reached in the last epoch, so the kept epoch is not told from the last");
        Assert.Equal(best + 1, (int)log.Single(l => (string)l["type"]! == "end")["best_epoch"]!);
        // The closing line says which epoch's weights were kept: it was only in train_log.jsonl.
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"\nsaved {typed} (epoch {best + 1} of 3, best by accuracy; validation: accuracy "), run.StdOut, StringComparison.Ordinal);
        var saved = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "metrics.json")))!;
        Assert.Equal(accuracies[best], (double)saved["metrics"]!["accuracy"]!);
        Assert.Equal((double)epochs[best]["validation"]!["loss"]!, (double)saved["metrics"]!["loss"]!);
        // The model card's front matter, results and table say what these files say (the kept epoch's metrics as its results).
        ModelCardChecks.AssertSst2CardMatchesRun(model);

        // evaluate on the same data reproduces the validation metrics of the kept epoch (reloaded weights, same numbers).
        var metricsPath = tmp.File("eval.json");
        // Without --task, evaluate and predict use the task recorded in training_args.json.
        var eval = CliRunner.Run("evaluate", "--model", model, "--data", Data("sst2_train.tsv"), "--output", metricsPath);
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        var evaluated = JsonNode.Parse(File.ReadAllText(metricsPath))!;
        Assert.Equal((double)saved["metrics"]!["accuracy"]!, (double)evaluated["metrics"]!["accuracy"]!);
        Assert.Equal((double)saved["metrics"]!["loss"]!, (double)evaluated["metrics"]!["loss"]!, 1e-9);
        Assert.Equal(8, (int)evaluated["examples"]!);

        // predict over the file gives the same accuracy as evaluate.
        var predictions = tmp.File("pred.jsonl");
        var pred = CliRunner.Run("predict", "--model", model, "--input", Data("sst2_train.tsv"), "--output", predictions);
        Assert.True(pred.ExitCode == 0, pred.StdErr);
        var truth = DatasetReader.Read(Data("sst2_train.tsv"), TaskSpec.Sst2).Examples.Select(e => e.Label).ToList();
        var rows = File.ReadAllLines(predictions).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(8, rows.Count);
        var hits = rows.Zip(truth, (r, t) => (string)r["label"]! == t ? 1 : 0).Sum();
        Assert.Equal((double)evaluated["metrics"]!["accuracy"]!, hits / 8.0);
        foreach (var r in rows)
        {
            var p = (JsonObject)r["probabilities"]!;
            // Each probability is written to 6 decimals.
            Assert.Equal(1.0, (double)p["negative"]! + (double)p["positive"]!, 1e-6 + 1e-9);
            Assert.Equal((double)r["score"]!, Math.Max((double)p["negative"]!, (double)p["positive"]!));
        }

        // --text prints "label (p)" and the probabilities; they equal the library's prediction.
        var single = CliRunner.Run("predict", "--model", model, "--text", truth.Count > 0 ? "hide new secretions from the parental units" : "");
        Assert.True(single.ExitCode == 0, single.StdErr);
        using var classifier = TextClassifier.Load(model, "cpu");
        var expected = classifier.Predict("hide new secretions from the parental units");
        Assert.StartsWith($"{expected.Label} ({expected.Score:0.00})", single.StdOut, StringComparison.Ordinal);
        Assert.Equal((string)rows[0]["label"]!, expected.Label);
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void Same_seed_gives_identical_losses_and_weights_other_seed_differs()
    {
        using var tmp = TestPaths.TempDir();
        FineTuneResult Train(string name, ulong seed) => FineTuner.Run(new FineTuneOptions
        {
            Task = TaskSpec.Sst2,
            Training = new()
            {
                DataPath = Data("sst2_train.tsv"),
                OutputDir = tmp.File(name),
                ConfigPreset = "tiny",
                VocabPath = Vocab,
                Epochs = 2,
                BatchSize = 3,
                LearningRate = 1e-3,
                MaxLength = 24,
                Seed = seed,
                Device = "cpu",
            },
            ValSize = 2,
            Split = SplitMethod.Random,
        });
        var a = Train("a", 7);
        var b = Train("b", 7);
        var c = Train("c", 8);
        Assert.Equal(4, a.StepLosses.Count);
        Assert.Equal(a.StepLosses, b.StepLosses);
        Assert.Equal(File.ReadAllBytes(tmp.File("a/model.safetensors")), File.ReadAllBytes(tmp.File("b/model.safetensors")));
        Assert.NotEqual(a.StepLosses, c.StepLosses);
    }

    public static TheoryData<string, string[], string> BadInputs => new()
    {
        { "missing column", ["finetune", "--task", "sst2", "--data", Data("missing_column.tsv")], "missing_column.tsv line 1: missing column 'label'" },
        { "empty file", ["finetune", "--task", "sst2", "--data", Data("empty.tsv")], "empty.tsv: empty file" },
        { "text column is numbers", ["finetune", "--task", "csv", "--data", Data("numeric_text.csv")], "numeric_text.csv line 2: column 'text' holds numbers" },
        { "json text not a string", ["finetune", "--task", "jsonl", "--data", Data("non_text.jsonl")], "non_text.jsonl line 2: field \"text\" is a JSON number" },
        { "unseen label in eval data", ["finetune", "--task", "csv", "--data", Data("custom.csv"), "--eval-data", Data("unseen_label.csv")],
            $"unseen_label.csv line 3: field 'label' has label 'surprise' that the training data {Data("custom.csv")} does not have; expected one of neg, neutral, pos." },
        { "max length above positions", ["finetune", "--task", "sst2", "--data", Data("sst2_train.tsv"), "--max-length", "513"],
            "--max-length 513: above the model's max_position_embeddings 512" },
        { "bad label value", ["finetune", "--task", "sst2", "--data", Data("bad_label.tsv")], "bad_label.tsv line 3: field 'label' is '2'" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_input_exits_2_with_one_line_and_leaves_no_output(string what, string[] args, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("out");
        var run = CliRunner.Run([.. args, "--output", output, "--config", "tiny", "--vocab", Vocab, "--device", "cpu"]);
        Assert.True(run.ExitCode == 2, $"{what}: exit {run.ExitCode}, stderr {run.StdErr}");
        var line = Assert.Single(run.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path));
    }

    [Fact]
    public void Checkpoint_max_position_embeddings_bounds_the_max_length()
    {
        using var tmp = TestPaths.TempDir();
        var fixture = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification");
        var run = CliRunner.Run("finetune", "--task", "sst2", "--data", Data("sst2_train.tsv"), "--model", fixture, "--output", tmp.File("out"),
            "--max-length", "128");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--max-length 128: above the model's max_position_embeddings 64", run.StdErr, StringComparison.Ordinal);
        Assert.Contains("sequence-classification", run.StdErr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path));
    }

    [Fact]
    public void Finetune_from_hf_checkpoint_then_evaluate_rejects_unseen_labels()
    {
        using var tmp = TestPaths.TempDir();
        var fixture = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification");
        var model = tmp.File("csv-model");
        var run = CliRunner.Run("finetune", "--task", "csv", "--data", Data("custom.csv"), "--eval-data", Data("custom.csv"), "--model", fixture,
            "--output", model, "--max-length", "32", "--epochs", "1", "--batch-size", "2", "--device", "cpu");
        Assert.True(run.ExitCode == 0, run.StdErr);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!;
        Assert.Equal(["neg", "neutral", "pos"], ((JsonObject)config["id2label"]!).Select(kv => (string)kv.Value!));
        var eval = CliRunner.Run("evaluate", "--model", model, "--task", "csv", "--data", Data("unseen_label.csv"), "--output", tmp.File("m.json"));
        Assert.Equal(2, eval.ExitCode);
        Assert.Contains("unseen_label.csv line 3: field 'label' has label 'surprise' that the model was not trained on", eval.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(tmp.File("m.json")));

        // Fine-tuned at 32, the model keeps the checkpoint's longer trained length: evaluate says so, and at 32 it scores the
        // validation file as the run did.
        var longer = CliRunner.Run("evaluate", "--model", model, "--data", Data("custom.csv"), "--output", tmp.File("l.json"), "--device", "cpu");
        Assert.True(longer.ExitCode == 0, longer.StdErr);
        Assert.Matches(@", max length \d+ \(fine-tuned at 32: --max-length 32 scores as its validation did\)", longer.StdOut);
        var at32 = CliRunner.Run("evaluate", "--model", model, "--data", Data("custom.csv"), "--output", tmp.File("s.json"), "--device", "cpu", "--max-length", "32");
        Assert.True(at32.ExitCode == 0, at32.StdErr);
        Assert.DoesNotContain("fine-tuned at", at32.StdOut, StringComparison.Ordinal);
        static double Loss(string path) => (double)JsonNode.Parse(File.ReadAllText(path))!["metrics"]!["loss"]!;
        Assert.Equal(Loss(Path.Combine(model, "metrics.json")), Loss(tmp.File("s.json")), 1e-9);
    }

    // A classifier fine-tuned further on data with its own labels keeps its class order, and so what its head learnt (as
    // run_glue.py uses such a model's label2id): the data's sorted order was written over id2label, the head kept, so that
    // 'pos' took over the weights of the checkpoint's 'neg'.
    [Fact]
    public void Finetune_from_a_classifier_with_the_datas_labels_keeps_its_class_order()
    {
        using var tmp = TestPaths.TempDir();
        var fixture = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification");
        var checkpoint = Directory.CreateDirectory(tmp.File("named")).FullName;
        foreach (var f in new[] { "model.safetensors", "vocab.txt", "special_tokens_map.json", "tokenizer_config.json" })
        {
            File.Copy(Path.Combine(fixture, f), Path.Combine(checkpoint, f));
        }
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(fixture, "config.json")))!.AsObject();
        config["id2label"] = new JsonObject { ["0"] = "pos", ["1"] = "neutral", ["2"] = "neg" };
        config["label2id"] = new JsonObject { ["pos"] = 0, ["neutral"] = 1, ["neg"] = 2 };
        File.WriteAllText(Path.Combine(checkpoint, "config.json"), config.ToJsonString());
        var model = tmp.File("out");
        // Validated on the same file, so that no split takes examples out of the one training batch.
        var run = CliRunner.Run("finetune", "--task", "csv", "--data", Data("custom.csv"), "--eval-data", Data("custom.csv"), "--model", checkpoint,
            "--output", model, "--max-length", "32", "--epochs", "1", "--batch-size", "4", "--device", "cpu");
        Assert.True(run.ExitCode == 0, run.StdErr);
        var saved = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!;
        Assert.Equal(["pos", "neutral", "neg"], ((JsonObject)saved["id2label"]!).Select(kv => (string)kv.Value!));
        // The head's rows trained on their own labels: custom.csv's four rows are the one batch, whose loss is the checkpoint's
        // mean -ln p(class) with the classes in its order (pos 0, neutral 1, neg 2). Targets in the data's sorted order, or a
        // new head, give another loss while id2label reads the same.
        (string Text, int Id)[] rows = [("Great movie, loved it", 0), ("Terrible plot", 2), ("She said \"wow\"", 0), ("meh", 1)];
        using var classifier = TextClassifier.Load(checkpoint, "cpu");
        var p = classifier.Predict([.. rows.Select(r => (r.Text, (string?)null))]);
        var expected = rows.Select((r, i) => -Math.Log(p[i].Probabilities[r.Id])).Average();
        var step1 = TrainLog.Read(Path.Combine(model, "train_log.jsonl")).First(e => TrainLog.TypeOf(e) == "train");
        Assert.Equal(1, TrainLog.StepOf(step1));
        Assert.Equal(expected, TrainLog.Number(step1, "loss"), 1e-5);
    }

    // The fixture's config.json has HF's default id2label (LABEL_0, LABEL_1, LABEL_2): its class ids were refused as labels
    // the model was not trained on. Each example's loss is -ln p(its class), so the mean loss shows which class a label read as.
    [Fact]
    public void Evaluate_reads_class_ids_for_a_model_with_hf_default_label_names()
    {
        using var tmp = TestPaths.TempDir();
        var fixture = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification");
        (string Text, int Id)[] rows = [("a tender , heartfelt family drama .", 2), ("unflinchingly bleak and desperate", 1), ("us love they .", 2)];
        File.WriteAllLines(tmp.File("ids.tsv"), ["text\tlabel", .. rows.Select(r => $"{r.Text}\t{r.Id}")]);
        var run = CliRunner.Run("evaluate", "--model", fixture, "--task", "tsv", "--data", tmp.File("ids.tsv"), "--output", tmp.File("m.json"));
        Assert.True(run.ExitCode == 0, run.StdErr);
        Assert.Equal(1, Regex.Count(run.StdErr, "field 'id2label' holds HF's default names"));
        Assert.Contains($"warning: {Path.Combine(fixture, "config.json")}: field 'id2label' holds HF's default names (LABEL_0, LABEL_1, LABEL_2)", run.StdErr, StringComparison.Ordinal);
        Assert.Contains("are read as class ids: 0 → LABEL_0, 1 → LABEL_1, 2 → LABEL_2.", run.StdErr, StringComparison.Ordinal);
        using var classifier = TextClassifier.Load(fixture, "cpu");
        var p = classifier.Predict([.. rows.Select(r => (r.Text, (string?)null))]);
        var expected = rows.Select((r, i) => -Math.Log(p[i].Probabilities[r.Id])).Average();
        var metrics = JsonNode.Parse(File.ReadAllText(tmp.File("m.json")))!;
        Assert.Equal(expected, (double)metrics["metrics"]!["loss"]!, 1e-5);
        Assert.Equal(["0", "1", "2"], metrics["labels"]!.AsArray().Select(l => (string)l!));
    }

    [Fact]
    public void Interactive_predict_answers_each_line()
    {
        using var tmp = TestPaths.TempDir();
        var model = tmp.File("m");
        Assert.Equal(0, CliRunner.Run(Finetune(model)).ExitCode);
        var oldIn = Console.In;
        Console.SetIn(new StringReader("a fine movie\nan awful movie\n\n"));
        try
        {
            var run = CliRunner.Run("predict", "--model", model, "--interactive");
            Assert.True(run.ExitCode == 0, run.StdErr);
            var lines = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.All(lines, l => Assert.Matches(@"^(negative|positive) \(\d\.\d\d\)$", l));
        }
        finally
        {
            Console.SetIn(oldIn);
        }
    }

    [Fact]
    public void Cola_evaluate_prints_per_batch_mcc_matching_the_predictions()
    {
        using var tmp = TestPaths.TempDir();
        var model = tmp.File("cola");
        var data = Data("cola_train.tsv");
        var run = CliRunner.Run("finetune", "--task", "cola", "--data", data, "--eval-data", data, "--output", model, "--config", "tiny",
            "--vocab", Vocab, "--epochs", "2", "--batch-size", "2", "--lr", "1e-3", "--max-length", "24", "--device", "cpu");
        Assert.True(run.ExitCode == 0, run.StdErr);
        Assert.Equal(["epoch", "train loss", "val loss", "val acc", "val mcc", "elapsed", "ex/s"], EpochTableTests.Cells(run.StdOut.Split('\n')[0]));
        var eval = CliRunner.Run("evaluate", "--model", model, "--task", "cola", "--data", data, "--batch-size", "4", "--output", tmp.File("m.json"));
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        var lines = eval.StdOut.Split('\n');
        var perBatch = lines[Array.FindIndex(lines, l => l.StartsWith("MCC per batch of 4", StringComparison.Ordinal)) + 1]
            .Split(' ').Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(2, perBatch.Length);

        var pred = CliRunner.Run("predict", "--model", model, "--input", data, "--task", "cola", "--output", tmp.File("p.jsonl"));
        Assert.True(pred.ExitCode == 0, pred.StdErr);
        var labels = new[] { "unacceptable", "acceptable" };
        var predicted = File.ReadAllLines(tmp.File("p.jsonl")).Select(l => Array.IndexOf(labels, (string)JsonNode.Parse(l)!["label"]!)).ToArray();
        // .json is written as JSON Lines as well (HF datasets' to_json; --input reads .json that way): the same lines.
        var asJson = CliRunner.Run("predict", "--model", model, "--input", data, "--task", "cola", "--output", tmp.File("p.json"));
        Assert.True(asJson.ExitCode == 0, asJson.StdErr);
        Assert.Equal(File.ReadAllLines(tmp.File("p.jsonl")), File.ReadAllLines(tmp.File("p.json")));
        var truth = DatasetReader.Read(data, TaskSpec.Cola).Examples.Select(e => Array.IndexOf(labels, e.Label)).ToArray();
        Assert.Equal(BertSharp.Evaluation.ClassificationMetrics.MatthewsCorrelation(truth[..4], predicted[..4], 2), perBatch[0], 3);
        Assert.Equal(BertSharp.Evaluation.ClassificationMetrics.MatthewsCorrelation(truth[4..], predicted[4..], 2), perBatch[1], 3);
        var overall = BertSharp.Evaluation.ClassificationMetrics.MatthewsCorrelation(truth, predicted, 2);
        Assert.Contains($"overall MCC: {overall.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)}", eval.StdOut, StringComparison.Ordinal);
        var json = JsonNode.Parse(File.ReadAllText(tmp.File("m.json")))!;
        Assert.Equal(2, ((JsonArray)json["batch_mcc"]!).Count);
    }

    [Fact]
    public void Regression_task_trains_one_output_and_reports_correlations()
    {
        using var tmp = TestPaths.TempDir();
        var model = tmp.File("reg");
        var data = Data("regression.tsv");
        var run = CliRunner.Run("finetune", "--task", "tsv", "--label-column", "score", "--regression", "--data", data, "--eval-data", data,
            "--output", model, "--config", "tiny", "--vocab", Vocab, "--epochs", "2", "--batch-size", "2", "--lr", "1e-3", "--max-length", "16",
            "--device", "cpu", "--save-best", "loss");
        Assert.True(run.ExitCode == 0, run.StdErr);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!;
        Assert.Equal("regression", (string)config["problem_type"]!);
        Assert.Single((JsonObject)config["id2label"]!);
        var eval = CliRunner.Run("evaluate", "--model", model, "--task", "tsv", "--label-column", "score", "--data", data, "--output", tmp.File("m.json"));
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        var metrics = (JsonObject)JsonNode.Parse(File.ReadAllText(tmp.File("m.json")))!["metrics"]!;
        Assert.Equal(["loss", "mse", "pearson", "spearman"], metrics.Select(kv => kv.Key).Order());
        // MSE is the regression loss (HF: MSELoss on the single logit), averaged over the same examples.
        Assert.Equal((double)metrics["mse"]!, (double)metrics["loss"]!, 1e-9);
        var pred = CliRunner.Run("predict", "--model", model, "--text", "a cat sits");
        Assert.True(pred.ExitCode == 0, pred.StdErr);
        Assert.Matches(@"^-?\d+\.\d{4}\s*$", pred.StdOut);

        // The hint finetune prints runs as printed: naming the task again ('--task tsv') keeps the column the model was
        // trained on ('score'); it read the default 'label' and refused the file.
        var hint = Regex.Match(run.StdOut, "next: bert evaluate (--model .* --task tsv) --data FILE").Groups[1].Value;
        Assert.NotEmpty(hint);
        var again = CliRunner.Run(["evaluate", .. hint.Split(' '), "--data", data, "--output", tmp.File("hint.json")]);
        Assert.True(again.ExitCode == 0, again.StdErr);
        Assert.Equal((double)metrics["mse"]!, (double)JsonNode.Parse(File.ReadAllText(tmp.File("hint.json")))!["metrics"]!["mse"]!);
        var file = CliRunner.Run("predict", "--model", model, "--input", data, "--task", "tsv");
        Assert.True(file.ExitCode == 0, file.StdErr);
    }

    [Fact]
    public void Evaluate_says_why_pearson_is_undefined_for_labels_that_are_all_equal()
    {
        // scores 2.0, 2.0, 2.0: Pearson's denominator √(Σ(y−ȳ)²·…) is 0, so r is undefined (scipy: NaN and a
        // ConstantInputWarning); the table says n/a, metrics.json null, and a warning says why. MSE stays defined.
        using var tmp = TestPaths.TempDir();
        var constant = tmp.File("constant.tsv");
        File.WriteAllText(constant, "id\ttext\tscore\n1\ta man is playing a guitar\t2.0\n2\ta cat sits\t2.0\n3\tthe sky is blue\t2.0\n");
        var model = Path.Combine(TestPaths.Fixtures, "hf_bert", "regression");
        var eval = CliRunner.Run("evaluate", "--model", model, "--task", "tsv", "--label-column", "score", "--data", constant, "--output", tmp.File("m.json"));
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        Assert.Contains($"warning: pearson and spearman are n/a (undefined, as scipy's NaN): every label in {constant} is 2,", eval.StdErr, StringComparison.Ordinal);
        var metrics = (JsonObject)JsonNode.Parse(File.ReadAllText(tmp.File("m.json")))!["metrics"]!;
        Assert.Null(metrics["pearson"]);
        Assert.Null(metrics["spearman"]);
        Assert.NotNull(metrics["mse"]);
    }

    [Fact]
    public void Undefined_correlation_names_its_cause()
    {
        float[][] varied = [[0.5f], [1.5f]];
        Assert.Null(BertSharp.Cli.Commands.EvaluateCommand.UndefinedCorrelation("d.tsv", [1f, 2f], varied));
        Assert.EndsWith("the model predicts 0.5 for every example of d.tsv.",
            BertSharp.Cli.Commands.EvaluateCommand.UndefinedCorrelation("d.tsv", [1f, 2f], [[0.5f], [0.5f]]), StringComparison.Ordinal);
        Assert.EndsWith("a correlation needs at least 2 examples, d.tsv has 1.",
            BertSharp.Cli.Commands.EvaluateCommand.UndefinedCorrelation("d.tsv", [1f], [[0.5f]]), StringComparison.Ordinal);
    }

    [Fact]
    public void Undefined_precision_and_recall_are_named_as_sklearn_warns_of_them()
    {
        // Both classes predicted and labelled: every denominator is positive.
        Assert.Null(BertSharp.Cli.Commands.EvaluateCommand.UndefinedPrecisionRecall("d.tsv", ["neg", "pos"], new long[,] { { 2, 1 }, { 1, 2 } }));
        // No 'pos' in the file, predicted once: sklearn's recall_score (binary) warns "Recall is ill-defined ... no true samples".
        Assert.Equal("undefined (a zero denominator), counted as 0 as scikit-learn's zero_division default: the recall of 'pos' (no example of d.tsv has that label); f1 and the macro means include those zeros.",
            BertSharp.Cli.Commands.EvaluateCommand.UndefinedPrecisionRecall("d.tsv", ["neg", "pos"], new long[,] { { 3, 1 }, { 0, 0 } }));
        // Three classes: 'b' labelled but never predicted, 'c' predicted but never labelled, 'd' neither (left out of the
        // macro means, as sklearn's labels=None leaves it, so not named).
        Assert.Equal("undefined (a zero denominator), counted as 0 as scikit-learn's zero_division default: the precision of 'b' (never predicted), the recall of 'c' (no example of d.tsv has that label); f1 and the macro means include those zeros.",
            BertSharp.Cli.Commands.EvaluateCommand.UndefinedPrecisionRecall("d.tsv", ["a", "b", "c", "d"],
                new long[,] { { 2, 0, 1, 0 }, { 1, 0, 0, 0 }, { 0, 0, 0, 0 }, { 0, 0, 0, 0 } }));
        // Binary without a single 'pos', labelled or predicted: precision and recall of class 1 are both undefined.
        Assert.Contains(": the precision of 'pos' (never predicted), the recall of 'pos' (",
            BertSharp.Cli.Commands.EvaluateCommand.UndefinedPrecisionRecall("d.tsv", ["neg", "pos"], new long[,] { { 4, 0 }, { 0, 0 } }), StringComparison.Ordinal);
        // Labels and the path are the user's data: shown on one line, escapes written out rather than sent to the terminal.
        Assert.Equal("undefined (a zero denominator), counted as 0 as scikit-learn's zero_division default: the precision of 'b\\x1b[31m' (never predicted), the recall of 'c d' (no example of runs/x y.tsv has that label); f1 and the macro means include those zeros.",
            BertSharp.Cli.Commands.EvaluateCommand.UndefinedPrecisionRecall("runs/x\ny.tsv", ["a", "b\u001b[31m", "c\nd"],
                new long[,] { { 2, 0, 1 }, { 1, 0, 0 }, { 0, 0, 0 } }));

        // bert finetune says the same of its final model's validation (it said nothing); a collapse keeps its own warning.
        var view = new BertSharp.Cli.Commands.FinetuneProgressView("accuracy", regression: false);
        Assert.Equal("the final model's validation: undefined (a zero denominator), counted as 0 as scikit-learn's zero_division default: the recall of 'c' "
            + "(no example of the validation data has that label); f1 and the macro means include those zeros.",
            view.FinalWarning(BertSharp.Evaluation.MetricsReport.ForClassification(["a", "b", "c"], [0, 0, 1, 1], [0, 1, 1, 2]), 6));
        Assert.EndsWith("the recall of 'c\\x1b[31m d' (no example of the validation data has that label); f1 and the macro means include those zeros.",
            view.FinalWarning(BertSharp.Evaluation.MetricsReport.ForClassification(["a", "b", "c\u001b[31m\nd"], [0, 0, 1, 1], [0, 1, 1, 2]), 6), StringComparison.Ordinal);
        Assert.Null(view.FinalWarning(BertSharp.Evaluation.MetricsReport.ForClassification(["a", "b", "c"], [0, 1, 2], [0, 1, 2]), 6));
        Assert.StartsWith("final model: the model predicts 'b' for all 3", view.FinalWarning(BertSharp.Evaluation.MetricsReport.ForClassification(["a", "b", "c"], [0, 1, 2], [1, 1, 1]), 6), StringComparison.Ordinal);

        // The plan's line names the data's labels as data too (this class runs in the serial collection: Console is the process's).
        var oldErr = Console.Error;
        using var plan = new StringWriter();
        Console.SetError(plan);
        try
        {
            view.Started(new BertSharp.Training.FineTunePlan(4, 2, 1, 2, 2, 1000, "cpu", ["neg", "po\u001b[31ms\nx"], 0, []));
        }
        finally
        {
            Console.SetError(oldErr);
        }
        Assert.Contains("; labels: neg, po\\x1b[31ms x\n", plan.ToString().ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public void Save_best_pearson_survives_validation_labels_that_are_all_equal()
    {
        // Pearson of a constant vector is undefined (scipy: NaN): every epoch's val pearson is n/a. The checkpoint wrote the
        // NaN best value into JSON and the run died with 'internal error (ArgumentException)' at the end of epoch 1.
        using var tmp = TestPaths.TempDir();
        var constant = tmp.File("constant.tsv");
        File.WriteAllText(constant, "id\ttext\tscore\n1\ta man is playing a guitar\t2.0\n2\ta cat sits\t2.0\n3\tthe sky is blue\t2.0\n");
        var run = CliRunner.Run("finetune", "--task", "tsv", "--label-column", "score", "--regression", "--data", Data("regression.tsv"),
            "--eval-data", constant, "--output", tmp.File("reg"), "--config", "tiny", "--vocab", Vocab, "--epochs", "2", "--batch-size", "2",
            "--lr", "1e-3", "--max-length", "16", "--device", "cpu", "--save-best", "pearson");
        Assert.True(run.ExitCode == 0, run.StdErr);
        Assert.Contains("pearson n/a", run.StdOut, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(tmp.File("reg"), "model.safetensors")));
        // Said once for the run (two epochs, both n/a), with its possible causes; the table alone showed a bare n/a.
        const string Why = "warning: val pearson and spearman are n/a (undefined, as scipy's NaN): the validation labels or the model's predictions are all one value";
        Assert.Single(run.StdErr.Split('\n'), line => line.StartsWith(Why, StringComparison.Ordinal));
    }

    [Fact]
    public void Mrpc_pairs_train_and_a_label_sorted_tail_split_is_flagged()
    {
        using var tmp = TestPaths.TempDir();
        var model = tmp.File("mrpc");
        var run = CliRunner.Run("finetune", "--task", "mrpc", "--data", Data("mrpc_train.tsv"), "--val-size", "1", "--output", model,
            "--config", "tiny", "--vocab", Vocab, "--epochs", "1", "--batch-size", "2", "--lr", "1e-3", "--max-length", "48", "--device", "cpu");
        Assert.True(run.ExitCode == 0, run.StdErr);
        // The one warning is that the pairs are cut at 48 tokens: nothing is wrong with the data or the split.
        var warning = Assert.Single(run.StdErr.Split('\n'), l => l.Contains("warning", StringComparison.Ordinal));
        Assert.StartsWith("warning: 3 of 3 inputs are longer than 48 tokens (longest ", warning, StringComparison.Ordinal);
        using var classifier = TextClassifier.Load(model, "cpu");
        Assert.Equal(["not_equivalent", "equivalent"], classifier.Labels.Labels);
        // Pairs only: a text alone is refused by a pair model (SentencePairTests).
        var both = classifier.Predict([("He said the pie business does not fit .", "The pie business does not fit , he said ."), ("a", "b")]);
        Assert.Equal(2, both.Count);
        Assert.All(both, p => Assert.Equal(1.0, p.Probabilities.Sum(), 1e-9));
        // The pair is encoded as [CLS] a [SEP] b [SEP] with segment ids 0…0 1…1.
        var enc = classifier.Encode([new TextExample("he said", "she said", null, 1)]);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1], enc[0].TokenTypeIds);

        // The SST-2 fixture ends with two positive rows: a tail split of 2 holds one label only; the default split holds both.
        var tail = CliRunner.Run(Finetune(tmp.File("sst2"))[..5].Concat(["--val-size", "2", "--split", "tail", "--output", tmp.File("sst2"), "--config", "tiny",
            "--vocab", Vocab, "--epochs", "1", "--max-length", "24", "--device", "cpu"]).ToArray());
        Assert.True(tail.ExitCode == 0, tail.StdErr);
        Assert.Contains("validation: the last 2 examples of", tail.StdErr, StringComparison.Ordinal);
        Assert.Contains("warning: the validation split holds only label 'positive'", tail.StdErr, StringComparison.Ordinal);
        var stratified = CliRunner.Run(Finetune(tmp.File("sst2"))[..5].Concat(["--val-size", "2", "--output", tmp.File("sst2"), "--config", "tiny",
            "--vocab", Vocab, "--epochs", "1", "--max-length", "24", "--device", "cpu"]).ToArray());
        Assert.True(stratified.ExitCode == 0, stratified.StdErr);
        Assert.Contains("validation: a stratified random 2 examples of", stratified.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("warning: the validation", stratified.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_validation_file_on_rank_0_ends_every_rank_of_a_data_parallel_run()
    {
        // Only rank 0 reads the validation file. Its error reached the others, waiting for its checks, only through the
        // launcher: a process that caught it and went on left them waiting for ever.
        using var tmp = TestPaths.TempDir();
        FineTuneOptions Options() => new()
        {
            Task = TaskSpec.Sst2,
            Training = new() { DataPath = Data("sst2_train.tsv"), EvalDataPath = Data("bad_label.tsv"), OutputDir = tmp.File("o"), ConfigPreset = "tiny", VocabPath = Vocab },
        };
        var rank0 = new Distributed.AgreeingRank(0, 2);
        Assert.Throws<BertSharpException>(() => FineTuner.Run(Options(), communicator: rank0));
        Assert.Equal([false], rank0.Arrivals);
        var rank1 = new Distributed.AgreeingRank(1, 2, failedRank: 0);
        var other = Assert.Throws<BertSharp.Distributed.RankFailedException>(() => FineTuner.Run(Options(), communicator: rank1));
        Assert.StartsWith("rank 0 of 2 failed during reading the data and checking the run's settings;", other.Message, StringComparison.Ordinal);
        Assert.Equal([true], rank1.Arrivals);
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path));
    }

    [Theory]
    // Each output rank 0 writes alone while the others wait for it (8 examples, batch 4: a checkpoint at step 1 is not an
    // epoch's end); meetings before it: the data checks and the start of training, then the opening of the run directory,
    // then each step's end that saved. The others learn there that it failed, instead of going on to the next step's
    // all-reduce without it (the run directory) or returning a path never written (the checkpoint of a run stopped early,
    // the model directory). A file is put in the way of each, but the run directory becomes the model directory in place:
    // there another command's output (a pre-training's final/, claimed in the marker) is in its way.
    [InlineData("o", Moment.Started, null, "{0}/o: is a file; expected a directory.", "opening the run directory and its log", 2)]
    [InlineData("o/checkpoint-1", Moment.EpochStarted, null, "{0}/o/checkpoint-1: is a file; expected a directory.", "the checkpoint at step 1", 3)]
    [InlineData("o/checkpoint-1", Moment.EpochStarted, 1, "{0}/o/checkpoint-1: is a file; expected a directory.", "the checkpoint at step 1", 3)]
    [InlineData("o/final", Moment.EpochEnded, null, "{0}/o: holds BertSharp output that is not a fine-tuned model (final)", "writing the model directory", 5)]
    public void Output_that_fails_on_rank_0_ends_every_rank_of_a_data_parallel_run(string inTheWay, Moment when, int? stopAfter, string ownError, string work, int meetingsBefore)
    {
        using var tmp = TestPaths.TempDir();
        FineTuneOptions Options(string output) => new()
        {
            Task = TaskSpec.Sst2,
            Training = new()
            {
                DataPath = Data("sst2_train.tsv"), OutputDir = tmp.File(output), ConfigPreset = "tiny", VocabPath = Vocab, Device = "cpu",
                Epochs = 1, BatchSize = 4, MaxLength = 24, SaveSteps = stopAfter is null ? 1 : 0, StopAfter = stopAfter,
            },
        };
        var path = tmp.File(inTheWay);
        Action inTheWayNow = when == Moment.EpochEnded
            ? () =>
            {
                OutputDirectory.Claim(tmp.File("o"), ["final"], overwrite: false);
                Directory.CreateDirectory(path);
            }
            : () => File.WriteAllText(path, "in the way");
        var rank0 = new Distributed.AgreeingRank(0, 2);
        var own = Assert.ThrowsAny<BertSharpException>(() => FineTuner.Run(Options("o"), new AtMoment(when, inTheWayNow), communicator: rank0));
        Assert.Contains(string.Format(CultureInfo.InvariantCulture, ownError, tmp.Path), own.Message, StringComparison.Ordinal);
        Assert.Equal([.. Enumerable.Repeat(true, meetingsBefore), false], rank0.Arrivals);
        // A run that failed before its first checkpoint (the one of a run stopped early included: it stayed behind, with
        // its marker and log) leaves no run directory; one with checkpoints (before the model directory) keeps it.
        Assert.Equal(when == Moment.EpochEnded, Directory.Exists(tmp.File("o")));
        // Its own output: rank 0's (a checkpoint) would refuse a new run there.
        var rank1 = new Distributed.AgreeingRank(1, 2, failedRank: 0, failingMeeting: meetingsBefore);
        var other = Assert.Throws<BertSharp.Distributed.RankFailedException>(() => FineTuner.Run(Options("rank1"), communicator: rank1));
        Assert.Equal($"rank 0 of 2 failed during {work}; this rank stops with it (rank 0's own error says why).", other.Message);
        Assert.Equal(Enumerable.Repeat(true, meetingsBefore + 1), rank1.Arrivals);
    }

    [SkippableFact]
    public void A_run_stopped_at_its_opening_leaves_the_output_as_it_found_it()
    {
        // The run directory is made before its log: a log that failed to open failed outside the clean-up of a run stopped
        // before its first checkpoint, and the directory stayed behind, holding only its marker.
        Skip.IfNot(OperatingSystem.IsLinux(), "the log's path is made too long for Linux's PATH_MAX");
        using var tmp = TestPaths.TempDir();
        var output = tmp.WhereTheLogCannotGo();
        var options = new FineTuneOptions
        {
            Task = TaskSpec.Sst2,
            Training = new() { DataPath = Data("sst2_train.tsv"), OutputDir = output, ConfigPreset = "tiny", VocabPath = Vocab, Device = "cpu", MaxLength = 24 },
        };
        var e = Assert.Throws<OutputWriteException>(() => FineTuner.Run(options));
        Assert.StartsWith($"{Path.Combine(output, TrainLog.FileName)}: cannot be written (", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
        Assert.True(Directory.Exists(Path.GetDirectoryName(output)));

        // An earlier model whose replacement was killed once it had been renamed away (AtomicFile's S2 without its tmp): the
        // output is missing when the run starts and the run's opening restores it. The failed run judged the directory by what
        // it found before that, absent, and deleted the restored model as a directory of its own making.
        var earlier = tmp.File("earlier");
        AtomicFile.WriteDirectory(earlier, d => File.WriteAllText(Path.Combine(d, "config.json"), "earlier"));
        Directory.Move(earlier, output + ".0000cccc.old");
        Assert.Throws<OutputWriteException>(() => FineTuner.Run(options));
        Assert.Equal("earlier", File.ReadAllText(Path.Combine(output, "config.json")));

        // The same with an unfinished run renamed away: the output was checked while it was absent, so the new run went on
        // into the restored run and would have written its checkpoints over the earlier ones.
        var unfinished = tmp.File("unfinished");
        AtomicFile.WriteDirectory(tmp.File("earlier-run"), d =>
        {
            Directory.CreateDirectory(Path.Combine(d, "checkpoint-1"));
            File.WriteAllText(Path.Combine(d, "checkpoint-1", TrainerState.FileName), "earlier");
        });
        Directory.Move(tmp.File("earlier-run"), unfinished + ".0000dddd.old");
        var refused = Assert.Throws<UnfinishedRunException>(() => FineTuner.Run(options with { Training = options.Training with { OutputDir = unfinished } }));
        Assert.Equal($"{unfinished}: holds checkpoint-1 of an earlier run; resume it, or choose another output directory.", refused.Message);
        Assert.Equal("earlier", File.ReadAllText(Path.Combine(unfinished, "checkpoint-1", TrainerState.FileName)));
        Assert.False(File.Exists(Path.Combine(unfinished, TrainLog.FileName)));

        // A log that opened but whose first line meets a full disk: undone by the run's own clean-up, not the opening's. A
        // directory the run made goes, one it found empty is emptied.
        var appendTo = TrainLog.AppendTo;
        TrainLog.AppendTo = _ => "/dev/full";
        try
        {
            Directory.CreateDirectory(tmp.File("empty"));
            foreach (var dir in new[] { tmp.File("new/run"), tmp.File("empty") })
            {
                var full = Assert.Throws<IOException>(() => FineTuner.Run(options with { Training = options.Training with { OutputDir = dir } }));
                Assert.Equal("No space left on device : '/dev/full'", full.Message);
            }
            Assert.False(Directory.Exists(tmp.File("new")));
            Assert.Empty(Directory.GetFileSystemEntries(tmp.File("empty")));
        }
        finally
        {
            TrainLog.AppendTo = appendTo;
        }
    }

    /// <summary>When <see cref="AtMoment"/> acts: the plan printed (before the run directory exists), an epoch's start or end.</summary>
    public enum Moment
    {
        Started,
        EpochStarted,
        EpochEnded,
    }

    /// <summary>Runs <paramref name="act"/> at the given moment of a run (rank 0's progress).</summary>
    private sealed class AtMoment(Moment when, Action act) : IFineTuneProgress
    {
        public void Started(FineTunePlan plan) => At(Moment.Started);

        public void EpochStarted(int epoch, int batches) => At(Moment.EpochStarted);

        public void BatchDone(int epoch, int batch, double loss, double examplesPerSecond)
        {
        }

        public void Validating(int epoch)
        {
        }

        public void EpochEnded(EpochSummary summary) => At(Moment.EpochEnded);

        private void At(Moment moment)
        {
            if (moment == when)
            {
                act();
            }
        }
    }

    [Fact]
    public void A_cosine_schedule_sets_each_steps_learning_rate_and_a_resume_must_keep_it()
    {
        using var tmp = TestPaths.TempDir();
        var model = tmp.File("model");
        string[] cosine = ["--warmup-steps", "2", "--lr-scheduler", "cosine", "--lr-scheduler-kwargs", """{"num_cycles": 0.25}"""];
        var stopped = CliRunner.Run(Finetune(model, [.. cosine, "--stop-after", "3"]));
        Assert.True(stopped.ExitCode == 0, stopped.StdErr);
        // Without --lr-scheduler the resume would decay linearly from step 3 on: refused in one line, the checkpoint untouched.
        var linear = CliRunner.Run(Finetune(model, "--warmup-steps", "2", "--resume"));
        Assert.Equal(2, linear.ExitCode);
        Assert.EndsWith("checkpoint-3: cannot resume: the run was trained with --lr-scheduler cosine and --lr-scheduler-kwargs {\"num_cycles\":0.25}, "
            + "but this one has --lr-scheduler linear; resume with the same scheduler.", Assert.Single(linear.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        var resumed = CliRunner.Run(Finetune(model, [.. cosine, "--resume"]));
        Assert.True(resumed.ExitCode == 0, resumed.StdErr);

        // 8 examples / batch 4 × 3 epochs = 6 steps, 2 of warm-up; step k trains at 1e-3 × HF's lr_lambda(k - 1):
        // k - 1 < 2: (k - 1) / 2; else progress = (k - 3) / 4 and 0.5 * (1.0 + math.cos(math.pi * 0.25 * 2.0 * progress)).
        double[] expected = [0.0, 0.0005, 0.001, 0.0009619397662556434, 0.0008535533905932737, 0.000691341716182545];
        var rates = File.ReadAllLines(Path.Combine(model, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(l => (string)l["type"]! == "train").Select(l => (double)l["learning_rate"]!).ToArray();
        Assert.Equal(expected.Length, rates.Length);
        for (var i = 0; i < rates.Length; i++)
        {
            Assert.True(Math.Abs(rates[i] - expected[i]) <= 1e-18, $"step {i + 1}: {rates[i]:R}, HF {expected[i]:R}");
        }
        var args = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "training_args.json")))!;
        Assert.Equal(("cosine", "{\"num_cycles\":0.25}"), ((string)args["lr_scheduler_type"]!, args["lr_scheduler_kwargs"]!.ToJsonString()));
        Assert.Contains("\n- lr_scheduler_type: cosine\n", File.ReadAllText(Path.Combine(model, "README.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void Options_are_checked_before_anything_runs()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("taken"), "x");
        FineTuneOptions Options(string output, Func<TrainingOptions, TrainingOptions>? change = null) => new()
        {
            Task = TaskSpec.Sst2,
            Training = (change ?? (t => t))(new() { DataPath = Data("sst2_train.tsv"), OutputDir = output, ConfigPreset = "tiny", VocabPath = Vocab }),
        };
        Assert.Equal(tmp.File("taken"), Assert.Throws<PathException>(() => Options(tmp.File("taken")).Validate()).Path);
        // The library names fields (snake_case, as in training_args.json); the CLI shows its flags instead.
        var both = Assert.Throws<BertSharpException>(() => Options(tmp.File("o"), t => t with { WarmupRatio = 0.1, WarmupSteps = 3 }).Validate());
        Assert.Equal("warmup_ratio and warmup_steps: give one or the other.", both.Message);
        Assert.Equal(["warmup_ratio", "warmup_steps"], both.Fields);
        Assert.Equal("--warmup-ratio and --warmup-steps: give one or the other.", Cli.CliErrors.Describe(both));
        Assert.Contains("needs vocab", Assert.Throws<BertSharpException>(() =>
            Options(tmp.File("o"), t => t with { VocabPath = null }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("either model", Assert.Throws<BertSharpException>(() =>
            Options(tmp.File("o"), t => t with { ModelDir = "x" }).Validate()).Message, StringComparison.Ordinal);
        var lr = Assert.Throws<BertSharpException>(() => Options(tmp.File("o"), t => t with { LearningRate = -1 }).Validate());
        Assert.Equal("learning_rate -1: expected a positive number.", lr.Message);
        Assert.Equal("--lr -1: expected a positive number.", Cli.CliErrors.Describe(lr));
        Assert.DoesNotContain("--", string.Join(" ", new[] { both, lr }.Select(e => e.Message)), StringComparison.Ordinal);
        // A required member set to null is one message naming the field, not a NullReferenceException from inside the run.
        var noTask = Assert.Throws<BertSharpException>(() => FineTuner.Run(Options(tmp.File("o")) with { Task = null! }));
        Assert.Equal("task: missing (null); expected a task (TaskSpec.Get).", noTask.Message);
        Assert.Equal(["task"], noTask.Fields);
        Assert.StartsWith("training: missing (null);",
            Assert.Throws<BertSharpException>(() => FineTuner.Run(Options(tmp.File("o")) with { Training = null! })).Message, StringComparison.Ordinal);
        Assert.StartsWith("data: missing (null);", Assert.Throws<BertSharpException>(() =>
            FineTuner.Run(Options(tmp.File("o"), t => t with { DataPath = null! }))).Message, StringComparison.Ordinal);
        Assert.StartsWith("output_dir: missing (null);", Assert.Throws<BertSharpException>(() =>
            FineTuner.Run(Options(tmp.File("o"), t => t with { OutputDir = null! }))).Message, StringComparison.Ordinal);
        Assert.Equal(16, (Options(tmp.File("o")) with { Task = TaskSpec.Imdb }).EffectiveBatchSize);
        Assert.Equal(2, (Options(tmp.File("o")) with { Task = TaskSpec.Imdb }).EffectiveEpochs);
        Assert.Equal(4, Options(tmp.File("o")).EffectiveEpochs);
        Assert.Equal(2e-5, Options(tmp.File("o")).Training.LearningRate);
        Assert.Equal(["taken"], Directory.GetFiles(tmp.Path).Select(Path.GetFileName));
    }
}
