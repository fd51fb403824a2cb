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
        var card = File.ReadAllText(Path.Combine(model, "README.md"));
        var metrics = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(model, "metrics.json")))!["metrics"]!;
        var args = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "training_args.json")))!;
        var log = File.ReadAllLines(Path.Combine(model, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();

        Assert.StartsWith("---\n", card, StringComparison.Ordinal);
        var end = card.IndexOf("\n---\n", 4, StringComparison.Ordinal);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(card[4..(end + 1)]));
        var front = (YamlMappingNode)yaml.Documents[0].RootNode;
        string Scalar(YamlNode n, params string[] path) =>
            ((YamlScalarNode)path.Aggregate(n, (node, key) => ((YamlMappingNode)node).Children[new YamlScalarNode(key)])).Value!;
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

        var body = card[(end + 5)..];
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
        var rows = body[(body.IndexOf("### Training results\n\n", StringComparison.Ordinal) + 22)..].Split('\n').TakeWhile(l => l.StartsWith('|')).ToList();
        string[] Cells(string row) => [.. row.Trim('|').Split('|').Select(c => c.Trim())];
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
