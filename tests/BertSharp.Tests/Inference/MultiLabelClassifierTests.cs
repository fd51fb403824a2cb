using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Inference;

/// <summary>
/// An HF checkpoint with <c>problem_type: multi_label_classification</c> (one sigmoid per label, as toxic-comment models are
/// trained): predict and serve answered with a softmax over its labels, evaluate failed inside libtorch's BCE.
/// </summary>
public sealed class MultiLabelClassifierTests
{
    private static string MultiLabelCopy(TempDir tmp)
    {
        HfFixture.CopyCase("sequence-classification", tmp.Path, f => f is not ("reference.safetensors" or "train_step.safetensors"));
        var path = Path.Combine(tmp.Path, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!;
        config["problem_type"] = "multi_label_classification";
        File.WriteAllText(path, config.ToJsonString());
        return tmp.Path;
    }

    [Fact]
    public void Each_label_gets_the_sigmoid_of_its_hf_logit()
    {
        using var tmp = TestPaths.TempDir();
        using var classifier = TextClassifier.Load(MultiLabelCopy(tmp), "cpu");
        // Rows 1 and 3 of the fixture batch; HF's logits for them are in reference.safetensors.
        var predictions = classifier.Predict([("Us love they.", null), ("a tender , heartfelt family drama . ", null)]);
        var refs = HfFixture.Tensors("sequence-classification");
        try
        {
            foreach (var (prediction, row) in predictions.Zip(new[] { 1, 3 }))
            {
                var logits = refs["out.logits"][row].data<float>().ToArray();
                var best = Array.IndexOf(logits, logits.Max());
                Assert.Equal(best, prediction.LabelId);
                for (var k = 0; k < logits.Length; k++)
                {
                    Assert.Equal(1 / (1 + Math.Exp(-logits[k])), prediction.Probabilities[k], 1e-6);
                }
                Assert.Equal(prediction.Probabilities[best], prediction.Score, 12);
                // Independent answers: a softmax would make them sum to 1.
                Assert.True(Math.Abs(prediction.Probabilities.Sum() - 1) > 0.1, $"sum {prediction.Probabilities.Sum()}");
            }
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
    }

    // One label of a multi-label model is a yes/no classifier (HF: the sigmoid of its logit); num_labels 1 was read as a
    // regression whatever problem_type said, so loading it failed ("classification needs at least 2 labels").
    [Fact]
    public void One_label_is_the_sigmoid_of_its_hf_logit_not_a_regression()
    {
        using var tmp = TestPaths.TempDir();
        var dir = MultiLabelCopy(tmp);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config["id2label"] = new JsonObject { ["0"] = "toxic" };
        config["label2id"] = new JsonObject { ["toxic"] = 0 };
        config.Remove("num_labels");
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        // The head cut to its first row: HF's logit for the one label is the fixture's logit of label 0.
        var weights = SafeTensors.Load(Path.Combine(dir, "model.safetensors"));
        var refs = HfFixture.Tensors("sequence-classification");
        try
        {
            foreach (var name in new[] { "classifier.weight", "classifier.bias" })
            {
                using var full = weights[name];
                weights[name] = full.narrow(0, 0, 1).contiguous();
            }
            SafeTensors.Save(Path.Combine(dir, "model.safetensors"), weights);
            using (var classifier = TextClassifier.Load(dir, "cpu"))
            {
                Assert.Equal("multi_label_classification", classifier.Labels.ProblemType);
                var predictions = classifier.Predict([("Us love they.", null), ("a tender , heartfelt family drama . ", null)]);
                foreach (var (prediction, row) in predictions.Zip(new[] { 1, 3 }))
                {
                    var logit = refs["out.logits"][row, 0].item<float>();
                    Assert.Equal(("toxic", 0), (prediction.Label, prediction.LabelId));
                    Assert.Equal(1 / (1 + Math.Exp(-logit)), prediction.Score, 1e-6);
                }
            }
            var data = tmp.File("dev.csv");
            File.WriteAllText(data, "text,label\na fine film,toxic\n");
            CliRunner.Run("export-onnx", dir, tmp.File("int8.onnx"), "--quantize", "int8", "--eval-data", data, "--task", "csv")
                .AssertOneLineError($"--eval-data: accuracy needs a single-label classifier; {dir} is a multi-label classifier (problem_type multi_label_classification).");
        }
        finally
        {
            HfFixture.DisposeAll(weights);
            HfFixture.DisposeAll(refs);
        }
    }

    [Fact]
    public void Evaluate_refuses_it_in_one_line_and_writes_nothing()
    {
        using var tmp = TestPaths.TempDir();
        using var work = TestPaths.TempDir();
        var data = work.File("dev.csv");
        File.WriteAllText(data, "text,label\na fine film,LABEL_1\na dull film,LABEL_0\n");
        var metrics = work.File("metrics.json");
        CliRunner.Run("evaluate", "--model", MultiLabelCopy(tmp), "--task", "csv", "--data", data, "--output", metrics, "--device", "cpu")
            .AssertOneLineError("problem_type 'multi_label_classification'", "one label per example");
        Assert.False(File.Exists(metrics));
    }
}
