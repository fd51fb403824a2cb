using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using TorchSharp;

namespace BertSharp.Tests.Inference;

/// <summary>
/// A one-label cross-encoder whose HF logits are known for sentence pairs: the encoder of the <c>pretraining</c> fixture (HF's
/// pooler output of its four pairs is in reference.safetensors) under a one-label head, row 0 of the sequence-classification
/// fixture's classifier scaled by <see cref="HeadScale"/> (so that the pairs' scores spread). HF's BertForSequenceClassification
/// computes <c>classifier(pooler_output)</c> with dropout off, so the logit of pair r is <c>w · pooler[r] + b</c>.
/// </summary>
internal static class CrossEncoderFixture
{
    public const double HeadScale = 20;

    /// <summary>The fixture's pairs, in its row order: (text, text_pair).</summary>
    public static IReadOnlyList<(string Text, string Pair)> Pairs =>
        [.. ((JsonArray)HfFixture.Case("pretraining")["inputs"]!["pair.in"]!).Select(r => ((string)r!["text"]!, (string)r["text_pair"]!))];

    /// <summary>Writes the cross-encoder into <paramref name="dir"/>; <paramref name="extraConfig"/> adds config.json fields.</summary>
    public static string Create(string dir, JsonObject? extraConfig = null)
    {
        var (w, b) = Head();
        return Write(dir, ["LABEL_0"], [w], [b], extraConfig);
    }

    /// <summary>
    /// A three-label sequence-pair classifier named by <paramref name="labels"/> in id order (an NLI model for zero-shot
    /// classification): the same encoder under all three rows of the sequence-classification fixture's classifier, scaled
    /// by <see cref="HeadScale"/>.
    /// </summary>
    public static TempDir Nli(params string[] labels)
    {
        var head = SafeTensors.Load(Path.Combine(HfFixture.Dir("sequence-classification"), "model.safetensors"));
        var tmp = TestPaths.TempDir();
        try
        {
            var rows = Enumerable.Range(0, labels.Length).Select(r => head["classifier.weight"][r].data<float>().Select(x => x * HeadScale).ToArray()).ToArray();
            var biases = Enumerable.Range(0, labels.Length).Select(r => head["classifier.bias"][r].item<float>() * HeadScale).ToArray();
            Write(tmp.Path, labels, rows, biases, null);
            return tmp;
        }
        catch
        {
            tmp.Dispose();
            throw;
        }
        finally
        {
            HfFixture.DisposeAll(head);
        }
    }

    // The pretraining fixture's encoder, tokenizer and config under a classifier of one row per label.
    private static string Write(string dir, string[] labels, IReadOnlyList<IReadOnlyList<double>> rows, IReadOnlyList<double> biases, JsonObject? extraConfig)
    {
        HfFixture.CopyCase("pretraining", dir, f => f is "vocab.txt" or "tokenizer_config.json" or "special_tokens_map.json" or "config.json");
        var configPath = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["architectures"] = new JsonArray("BertForSequenceClassification");
        var id2label = new JsonObject();
        var label2id = new JsonObject();
        for (var i = 0; i < labels.Length; i++)
        {
            id2label[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = labels[i];
            label2id[labels[i]] = i;
        }
        config["id2label"] = id2label;
        config["label2id"] = label2id;
        foreach (var (key, value) in extraConfig ?? [])
        {
            config[key] = value?.DeepClone();
        }
        File.WriteAllText(configPath, config.ToJsonString());
        var encoder = SafeTensors.Load(Path.Combine(HfFixture.Dir("pretraining"), "model.safetensors"));
        try
        {
            var weights = encoder.Where(kv => kv.Key.StartsWith("bert.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
            weights["classifier.weight"] = torch.tensor(rows.SelectMany(r => r.Select(x => (float)x)).ToArray(), [rows.Count, rows[0].Count]);
            weights["classifier.bias"] = torch.tensor(biases.Select(x => (float)x).ToArray(), [biases.Count]);
            SafeTensors.Save(Path.Combine(dir, "model.safetensors"), weights);
            weights["classifier.weight"].Dispose();
            weights["classifier.bias"].Dispose();
        }
        finally
        {
            HfFixture.DisposeAll(encoder);
        }
        return dir;
    }

    /// <summary>The head: row 0 of the sequence-classification fixture's classifier, times <see cref="HeadScale"/>.</summary>
    private static (double[] Weight, double Bias) Head()
    {
        var head = SafeTensors.Load(Path.Combine(HfFixture.Dir("sequence-classification"), "model.safetensors"));
        try
        {
            var w = head["classifier.weight"][0].data<float>().Select(x => x * HeadScale).ToArray();
            var b = head["classifier.bias"][0].item<float>() * HeadScale;
            return (w, b);
        }
        finally
        {
            HfFixture.DisposeAll(head);
        }
    }

    /// <summary>HF's logit of each fixture pair, computed here in double from HF's pooler output: <c>w · pooler[r] + b</c>.</summary>
    public static double[] HfLogits()
    {
        var (w, b) = Head();
        var refs = HfFixture.Tensors("pretraining");
        try
        {
            var pooler = refs["pair.out.pooler_output"];
            var rows = (int)pooler.shape[0];
            var logits = new double[rows];
            for (var r = 0; r < rows; r++)
            {
                var p = pooler[r].data<float>().ToArray();
                logits[r] = b + w.Select((x, i) => x * p[i]).Sum();
            }
            return logits;
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
    }

    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>A temporary directory holding the cross-encoder.</summary>
    public static TempDir Temp(JsonObject? extraConfig = null)
    {
        var tmp = TestPaths.TempDir();
        Create(tmp.Path, extraConfig);
        return tmp;
    }
}
