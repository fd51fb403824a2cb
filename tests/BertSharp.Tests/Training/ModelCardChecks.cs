using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace BertSharp.Tests.Training;

/// <summary>
/// Checks a fine-tuned model directory's README.md against the run's own files (train_log.jsonl, metrics.json,
/// training_args.json), read here without BertSharp's card code: the front matter through YamlDotNet, numbers through HF's
/// rules as modelcard.py states them (a float whose repr has more than 4 decimals is shown with 4, else as its repr).
/// </summary>
internal static class ModelCardChecks
{
    /// <summary>The card of a sequence-classification run on GLUE SST-2 data, trained from a config (no base model).</summary>
    public static void AssertSst2CardMatchesRun(string model)
    {
        var metrics = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(model, "metrics.json")))!["metrics"]!;
        var args = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "training_args.json")))!;
        var log = File.ReadAllLines(Path.Combine(model, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        var (front, body) = Read(model);
        List<string> List(string key) => [.. ((YamlSequenceNode)front.Children[new YamlScalarNode(key)]).Select(x => ((YamlScalarNode)x).Value!)];

        Assert.Equal("transformers", Scalar(front, "library_name"));
        Assert.False(front.Children.ContainsKey(new YamlScalarNode("base_model")), "a model trained from a config has no base model");
        Assert.Equal(["generated_from_bertsharp"], List("tags"));
        Assert.Equal(["glue"], List("datasets"));
        // HF's METRIC_TAGS among metrics.json's keys, mcc as evaluate's matthews_correlation.
        var tags = new Dictionary<string, string> { ["accuracy"] = "accuracy", ["f1"] = "f1", ["precision"] = "precision", ["recall"] = "recall", ["mcc"] = "matthews_correlation" };
        var tagged = metrics.Where(kv => tags.ContainsKey(kv.Key)).ToList();
        Assert.Equal(tagged.Select(kv => tags[kv.Key]), List("metrics"));
        var index = (YamlMappingNode)((YamlSequenceNode)front.Children[new YamlScalarNode("model-index")])[0];
        Assert.Equal(Path.GetFileName(model), Scalar(index, "name"));
        var result = (YamlMappingNode)((YamlSequenceNode)index.Children[new YamlScalarNode("results")])[0];
        Assert.Equal(("text-classification", "Text Classification"), (Scalar(result, "task", "type"), Scalar(result, "task", "name")));
        Assert.Equal(("glue", "sst2", "GLUE SST2"), (Scalar(result, "dataset", "type"), Scalar(result, "dataset", "args"), Scalar(result, "dataset", "name")));
        var scored = ((YamlSequenceNode)result.Children[new YamlScalarNode("metrics")]).Cast<YamlMappingNode>().ToList();
        Assert.Equal(tagged.Select(kv => tags[kv.Key]), scored.Select(m => Scalar(m, "type")));
        // The values exactly (the metrics of the published weights, not rounded).
        Assert.Equal(tagged.Select(kv => (double)kv.Value!), scored.Select(m => double.Parse(Scalar(m, "value"), CultureInfo.InvariantCulture)));

        Assert.Contains("\n# " + Path.GetFileName(model) + "\n\nThis model was trained from scratch on the GLUE SST2 dataset.\nIt achieves the following results on the evaluation set:\n"
            + string.Concat(metrics.Select(kv => $"- {Name(kv.Key)}: {Hf((double)kv.Value!)}\n")), body, StringComparison.Ordinal);
        foreach (var section in new[] { "\n## Model description\n", "\n## Intended uses & limitations\n", "\n## Training and evaluation data\n",
                     "\n## Training procedure\n", "\n### Training hyperparameters\n", "\n### Training results\n", "\n### Framework versions\n" })
        {
            Assert.Contains(section, body, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("More information needed", body, StringComparison.Ordinal);

        var hyper = "The following hyperparameters were used during training:\n"
            + $"- learning_rate: {(double)args["learning_rate"]! switch { 1e-3 => "0.001", var lr => throw new InvalidOperationException($"no expected text for {lr}") }}\n"
            + $"- train_batch_size: {(int)args["batch_size"]!}\n- eval_batch_size: {(int)args["batch_size"]!}\n- seed: {(long)args["seed"]!}\n"
            + "- optimizer: Use adamw_torch with betas=(0.9,0.999) and epsilon=1e-08 and optimizer_args=No additional optimizer arguments\n"
            + $"- lr_scheduler_type: linear\n- num_epochs: {(int)args["epochs"]!}\n";
        Assert.Contains(hyper, body, StringComparison.Ordinal);

        // One table row per epoch: its training loss, the epoch as the Trainer's float, the step, validation loss first.
        var epochs = log.Where(l => (string)l["type"]! == "epoch").ToList();
        var rows = TableRows(body);
        var keys = ((JsonObject)epochs[0]["validation"]!).Select(kv => kv.Key).Where(k => k != "loss").ToList();
        Assert.Equal(["Training Loss", "Epoch", "Step", "Validation Loss", .. keys.Select(Name)], Cells(rows[0]));
        Assert.All(Cells(rows[1]), c => Assert.Matches("^:-+:$", c));
        Assert.Equal(epochs.Count, rows.Count - 2);
        for (var i = 0; i < epochs.Count; i++)
        {
            var e = epochs[i];
            var v = (JsonObject)e["validation"]!;
            Assert.Equal([Hf((double)e["train_loss"]!), $"{(int)e["epoch"]!}.0", ((long)e["step"]!).ToString(CultureInfo.InvariantCulture),
                Hf((double)v["loss"]!), .. keys.Select(k => Hf((double)v[k]!))], Cells(rows[i + 2]));
        }
        // Every row as wide as the header: the columns line up.
        Assert.Single(rows.Select(r => r.Length).Distinct());

        AssertVersions(body);
    }

    /// <summary>
    /// The card of a pre-training run's final/ (<paramref name="run"/>/final), trained from a preset (no base model) with
    /// held-out evaluations, against the run's train_log.jsonl and the settings it was given: run_mlm's card (fill-mask, no
    /// Hub dataset, so no model-index results), the last evaluation's metrics with perplexity = exp(masked LM loss), a row
    /// per evaluation with the data seen as the epoch, and training_steps for a run of max_steps.
    /// </summary>
    /// <param name="run">The run's output directory.</param>
    /// <param name="hyperparameters">The hyperparameter lines expected, as the run was configured.</param>
    /// <param name="withNsp">Whether the run trained next-sentence prediction too.</param>
    public static void AssertPretrainingCardMatchesRun(string run, string hyperparameters, bool withNsp)
    {
        var log = File.ReadAllLines(Path.Combine(run, "train_log.jsonl")).Select(l => (JsonObject)JsonNode.Parse(l)!).ToList();
        var (front, body) = Read(Path.Combine(run, "final"));

        Assert.Equal(["library_name", "tags", "model-index"], front.Children.Keys.Select(k => ((YamlScalarNode)k).Value));
        Assert.Equal("transformers", Scalar(front, "library_name"));
        Assert.Equal(["generated_from_bertsharp"], ((YamlSequenceNode)front.Children[new YamlScalarNode("tags")]).Select(x => ((YamlScalarNode)x).Value!));
        var index = (YamlMappingNode)((YamlSequenceNode)front.Children[new YamlScalarNode("model-index")])[0];
        Assert.Equal(Path.GetFileName(run), Scalar(index, "name"));
        // Neither loss nor perplexity is among METRIC_TAGS, and a result without metrics (and a dataset) is dropped.
        Assert.Empty((YamlSequenceNode)index.Children[new YamlScalarNode("results")]);

        var evals = log.Where(e => (string)e["type"]! == "eval").ToList();
        var last = evals[^1];
        string[] keys = withNsp ? ["loss", "masked_lm_loss", "masked_lm_accuracy", "next_sentence_loss", "next_sentence_accuracy"] : ["loss", "masked_lm_loss", "masked_lm_accuracy"];
        Assert.Equal(["type", "step", .. keys], last.Select(kv => kv.Key));
        Assert.Contains($"\n# {Path.GetFileName(run)}\n\nThis model was trained from scratch on the {Path.GetFileName(PretrainingDataDirectory(run))} dataset.\n"
            + "It achieves the following results on the evaluation set:\n"
            + string.Concat(keys.Select(k => $"- {Name(k)}: {Hf((double)last[k]!)}\n"))
            + $"- Perplexity: {Hf(Math.Exp((double)last["masked_lm_loss"]!))}\n", body, StringComparison.Ordinal);
        Assert.Contains("\nThe following hyperparameters were used during training:\n" + hyperparameters, body, StringComparison.Ordinal);
        Assert.DoesNotContain("More information needed", body, StringComparison.Ordinal);

        // A row per evaluation: the loss of the step it followed, the instances seen over the training instances as the epoch.
        var trainInstances = (double)log.Single(e => (string)e["type"]! == "start")["train_instances"]!;
        var rows = TableRows(body);
        Assert.Equal(["Training Loss", "Epoch", "Step", "Validation Loss", .. keys.Skip(1).Select(Name)], Cells(rows[0]));
        Assert.Equal(evals.Count, rows.Count - 2);
        for (var i = 0; i < evals.Count; i++)
        {
            var step = (long)evals[i]["step"]!;
            var train = log.Single(e => (string)e["type"]! == "train" && (long)e["step"]! == step);
            Assert.Equal((double)train["data_position"]! / trainInstances, (double)train["epoch"]!);
            Assert.Equal([Hf((double)train["loss"]!), Hf((double)train["data_position"]! / trainInstances), step.ToString(CultureInfo.InvariantCulture),
                .. keys.Select(k => Hf((double)evals[i][k]!))], Cells(rows[i + 2]));
        }
        Assert.Single(rows.Select(r => r.Length).Distinct());
        AssertVersions(body);
    }

    /// <summary>The <c>base_model</c> of a card as HF's from_trainer sets it: a Hub id the run started from, never a local directory.</summary>
    /// <param name="modelDir">The trained model's directory.</param>
    /// <param name="typed">The <c>--model</c> the run was given.</param>
    /// <param name="isHubId">Whether <paramref name="typed"/> was a Hub id.</param>
    public static void AssertBaseModel(string modelDir, string typed, bool isHubId)
    {
        var (front, body) = Read(modelDir);
        if (isHubId)
        {
            Assert.Equal(typed, Scalar(front, "base_model"));
            Assert.Contains($"\nThis model is a fine-tuned version of [{typed}](https://huggingface.co/{typed}) on ", body, StringComparison.Ordinal);
        }
        else
        {
            Assert.False(front.Children.ContainsKey(new YamlScalarNode("base_model")), "a local directory is no base model");
            Assert.Contains($"\nThis model is a fine-tuned version of `{Path.GetFileName(typed)}` (a local model) on ", body, StringComparison.Ordinal);
        }
    }

    // The run's data directory as its checkpoints record it.
    private static string PretrainingDataDirectory(string run)
    {
        var checkpoint = Directory.GetDirectories(run, "checkpoint-*").First();
        return (string)JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "trainer_state.json")))!["settings"]!["data_directory"]!;
    }

    // The card's front matter through YamlDotNet, and the Markdown after it.
    private static (YamlMappingNode Front, string Body) Read(string modelDir)
    {
        var card = File.ReadAllText(Path.Combine(modelDir, "README.md"));
        Assert.StartsWith("---\n", card, StringComparison.Ordinal);
        var end = card.IndexOf("\n---\n", 4, StringComparison.Ordinal);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(card[4..(end + 1)]));
        return ((YamlMappingNode)yaml.Documents[0].RootNode, card[(end + 5)..]);
    }

    private static string Scalar(YamlNode n, params string[] path) =>
        ((YamlScalarNode)path.Aggregate(n, (node, key) => ((YamlMappingNode)node).Children[new YamlScalarNode(key)])).Value!;

    private static List<string> TableRows(string body) =>
        [.. body[(body.IndexOf("### Training results\n\n", StringComparison.Ordinal) + 22)..].Split('\n').TakeWhile(l => l.StartsWith('|'))];

    private static string[] Cells(string row) => [.. row.Trim('|').Split('|').Select(c => c.Trim())];

    private static void AssertVersions(string body)
    {
        Assert.Contains($"\n### Framework versions\n\n- BertSharp {typeof(BertSharp.Training.FineTuner).Assembly.GetName().Version!.ToString(3)}\n- TorchSharp ", body, StringComparison.Ordinal);
        // torch's three-part version (torch.__version__ without a local "+cpu"), not TorchSharp's four-part package version.
        Assert.Matches(@"\n- libtorch \d+\.\d+\.\d+\n- \.NET \d+\.\d+\.\d+\n$", body);
    }

    // Python's str(key.split("_") each .capitalize()).
    private static string Name(string key) => string.Join(' ', key.Split('_').Select(p => p[..1].ToUpperInvariant() + p[1..].ToLowerInvariant()));

    // _maybe_round: more than 4 decimals in the shortest repr → 4 decimals (round half even on the decimal value), else the repr
    // (a whole float with ".0").
    private static string Hf(double v)
    {
        var repr = v.ToString("R", CultureInfo.InvariantCulture);
        if (repr.Contains('.', StringComparison.Ordinal) && repr.Split('.')[1].Length > 4)
        {
            return decimal.Round((decimal)v, 4, MidpointRounding.ToEven).ToString("0.0000", CultureInfo.InvariantCulture);
        }
        return v == Math.Floor(v) ? v.ToString("0.0", CultureInfo.InvariantCulture) : repr;
    }
}
