using System.Text.Json.Nodes;
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
                    Assert.Equal(1 / (1 + Math.Exp(-logits[k])), prediction.Probabilities[k], 5);
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
