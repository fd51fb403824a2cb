using System.Text.Json.Nodes;
using BertSharp.Checkpoints.Onnx;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Onnx;
using TorchSharp;

namespace BertSharp.Tests.Modeling;

/// <summary>
/// <c>classifier_pooling: mean</c>: the sequence classifier reads the masked mean of the last hidden state (as
/// sentence-transformers pools) instead of [CLS]. Checked against a hand computation in doubles from HF's own last hidden
/// state of the fixture (padded rows included), against ONNX Runtime on the export, and through config.json and finetune.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class MeanPoolingTests
{
    private static BertForSequenceClassification MeanModel() =>
        BertPretrained.Load<BertForSequenceClassification>(HfFixture.Dir("sequence-classification"), out _, c => c.ClassifierPooling = "mean");

    [Fact]
    public void Logits_are_the_classifier_of_tanh_pooler_of_the_masked_mean_of_hf_last_hidden_state()
    {
        using var model = MeanModel();
        model.eval();
        var reference = HfFixture.Tensors("sequence-classification");
        var (ids, mask, types) = (reference["in.input_ids"], reference["in.attention_mask"], reference["in.token_type_ids"]);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var output = model.Forward(new BertInput(ids, mask, types));
        var got = output.Logits.data<float>().ToArray();

        var weights = BertPretrained.StateDict(model).ToDictionary(kv => kv.Key, kv => kv.Value.data<float>().ToArray());
        var (wp, bp, wc, bc) = (weights["bert.pooler.dense.weight"], weights["bert.pooler.dense.bias"], weights["classifier.weight"], weights["classifier.bias"]);
        var hidden = reference["out.last_hidden_state"].data<float>().ToArray();
        var m = mask.data<long>().ToArray();
        var (batch, seq, h, labels) = ((int)ids.shape[0], (int)ids.shape[1], model.Config.HiddenSize, model.Config.NumLabels);
        Assert.Contains(0L, m); // the fixture pads some rows, so the mask matters
        for (var b = 0; b < batch; b++)
        {
            var mean = new double[h];
            var count = 0;
            for (var t = 0; t < seq; t++)
            {
                if (m[(b * seq) + t] == 0)
                {
                    continue;
                }
                count++;
                for (var k = 0; k < h; k++)
                {
                    mean[k] += hidden[(((b * seq) + t) * h) + k];
                }
            }
            var pooled = new double[h];
            for (var o = 0; o < h; o++)
            {
                var s = (double)bp[o];
                for (var k = 0; k < h; k++)
                {
                    s += wp[(o * h) + k] * mean[k] / count;
                }
                pooled[o] = Math.Tanh(s);
            }
            for (var l = 0; l < labels; l++)
            {
                var s = (double)bc[l];
                for (var k = 0; k < h; k++)
                {
                    s += wc[(l * h) + k] * pooled[k];
                }
                Assert.True(Math.Abs(s - got[(b * labels) + l]) < 1e-6, $"row {b}, label {l}: hand {s} vs BertSharp {got[(b * labels) + l]}");
            }
        }
        // And it is not what [CLS] pooling gives (HF's logits of the same fixture).
        var cls = reference["out.logits"].data<float>().ToArray();
        Assert.True(cls.Zip(got).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
        foreach (var t in reference.Values)
        {
            t.Dispose();
        }
    }

    [Fact]
    public void Onnx_export_pools_the_same_mean_plain_and_fused()
    {
        using var model = MeanModel();
        var reference = HfFixture.Tensors("sequence-classification");
        var (ids, mask, types) = (reference["in.input_ids"], reference["in.attention_mask"], reference["in.token_type_ids"]);
        var expected = OnnxParity.TorchOutputs(model, ids, mask, types);
        long[] Flat(torch.Tensor t) => t.data<long>().ToArray();
        using var tmp = TestPaths.TempDir();
        foreach (var fused in new[] { false, true })
        {
            var path = tmp.File(fused ? "fused.onnx" : "plain.onnx");
            OnnxExport.Export(model, path, new OnnxExportOptions(Optimize: fused));
            var diff = OnnxParity.MaxDiff(path, expected, Flat(ids), Flat(mask), Flat(types), (int)ids.shape[0], (int)ids.shape[1]);
            Assert.True(diff <= 1e-4, $"{(fused ? "fused" : "plain")}: max |ORT - BertSharp| = {diff:E2}");
        }
        foreach (var t in reference.Values)
        {
            t.Dispose();
        }
    }

    [Fact]
    public void Config_keeps_classifier_pooling_writes_it_only_when_set_and_refuses_other_values()
    {
        var json = File.ReadAllText(Path.Combine(HfFixture.Dir("sequence-classification"), "config.json"));
        Assert.Null(JsonNode.Parse(BertConfig.Parse(json, "c").ToJson())!["classifier_pooling"]);
        var withMean = json.Replace("\"vocab_size\"", "\"classifier_pooling\": \"mean\", \"vocab_size\"", StringComparison.Ordinal);
        var c = BertConfig.Parse(withMean, "c");
        Assert.True(c.MeanPooling);
        Assert.Equal("mean", (string)JsonNode.Parse(c.ToJson())!["classifier_pooling"]!);
        var e = Assert.Throws<BertSharpException>(() => BertConfig.Parse(withMean.Replace("\"mean\"", "\"max\"", StringComparison.Ordinal), "dir/config.json"));
        Assert.Equal("dir/config.json: classifier_pooling 'max': expected cls or mean.", e.Message);
    }

    [Fact]
    public void Finetune_pooling_mean_is_saved_in_config_json_and_the_loaded_classifier_uses_it()
    {
        using var tmp = TestPaths.TempDir();
        var model = tmp.File("model");
        var data = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");
        var vocab = Path.Combine(HfFixture.Dir("sequence-classification"), "vocab.txt");
        var run = CliRunner.Run("finetune", "--task", "sst2", "--data", data, "--eval-data", data, "--output", model, "--config", "tiny",
            "--vocab", vocab, "--epochs", "1", "--batch-size", "4", "--max-length", "16", "--device", "cpu", "--pooling", "mean");
        Assert.True(run.ExitCode == 0, run.StdErr);
        Assert.Contains("classifier pooling: mean of the last hidden state", run.StdErr, StringComparison.Ordinal);
        Assert.Equal("mean", (string)JsonNode.Parse(File.ReadAllText(Path.Combine(model, "config.json")))!["classifier_pooling"]!);
        Assert.Equal("mean", (string)JsonNode.Parse(File.ReadAllText(Path.Combine(model, "training_args.json")))!["pooling"]!);
        using var c = TextClassifier.Load(model, "cpu");
        Assert.True(c.Model.Config.MeanPooling);
    }
}
