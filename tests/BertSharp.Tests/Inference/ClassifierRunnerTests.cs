using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Modeling;
using TorchSharp;

namespace BertSharp.Tests.Inference;

/// <summary>
/// The loss of a one-output classifier follows HF's problem_type: ClassifierRunner took every one-label model for a
/// regression (float targets), so a one-label single-label or multi-label model failed inside libtorch's loss.
/// </summary>
public sealed class ClassifierRunnerTests
{
    private static EncodedExample[] Examples(float first) => [new([2, 5, 6, 3], [0, 0, 0, 0], first), new([2, 7, 3], [0, 0, 0], 0)];

    [Theory]
    [InlineData(null)]
    [InlineData("regression")]
    [InlineData("single_label_classification")]
    [InlineData("multi_label_classification")]
    public void A_one_label_loss_is_hf_s(string? problemType)
    {
        var config = HfTrainStepTests.TinyConfig();
        config.NumLabels = 1;
        config.ProblemType = problemType;
        using var model = BertPretrained.Create<BertForSequenceClassification>(config);
        // One class has the one id 0.
        double[] y = [problemType == "single_label_classification" ? 0 : 1, 0];
        var run = ClassifierRunner.Run(model, Examples((float)y[0]), batchSize: 2, padId: 0, withLabels: true, torch.CPU);
        var z = run.Logits.Select(l => (double)l[0]).ToArray();
        var expected = problemType switch
        {
            null or "regression" => z.Zip(y, (a, b) => (a - b) * (a - b)).Average(),
            // Cross-entropy over one class: its softmax is 1 whatever the logit.
            "single_label_classification" => 0,
            _ => z.Zip(y, (a, b) => Math.Log(1 + Math.Exp(-a)) + (1 - b) * a).Average(),
        };
        // A tolerance, not decimal places: the model is freshly random, and rounding both to 5 places failed once when they
        // fell either side of a rounding boundary (0.4990349842 against libtorch's float 0.4990350008).
        Assert.Equal(expected, run.Loss, 1e-5);
    }

    [Fact]
    public void A_multi_label_loss_of_several_labels_is_refused_in_one_line()
    {
        var config = HfTrainStepTests.TinyConfig();
        config.ProblemType = "multi_label_classification";
        using var model = BertPretrained.Create<BertForSequenceClassification>(config);
        var e = Assert.Throws<BertSharpException>(() => ClassifierRunner.Run(model, Examples(1), 2, 0, withLabels: true, torch.CPU));
        Assert.Equal("problem_type multi_label_classification with 3 labels: an example holds one target; the loss needs one per label.", e.Message);
        Assert.Equal(2, ClassifierRunner.Run(model, Examples(1), 2, 0, withLabels: false, torch.CPU).Logits.Length);
    }
}
