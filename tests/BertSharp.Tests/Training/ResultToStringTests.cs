using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// The results a user prints show their lists' values: a record's own ToString printed
/// <c>System.Collections.Generic.List`1[System.Double]</c> for a run's step losses and a prediction's probabilities.
/// </summary>
public sealed class ResultToStringTests
{
    [Fact]
    public void A_prediction_shows_its_probabilities_in_the_invariant_culture()
    {
        // A comma decimal separator would run into the list's commas.
        var (prediction, choice) = HostCulture.Run(() =>
            (new Prediction("pos", 1, 0.75, [0.25, 0.75]).ToString(), new ChoicePrediction(2, 0.5, [0.125, 0.375, 0.5]).ToString()));
        Assert.Equal("Prediction { Label = pos, LabelId = 1, Score = 0.75, Probabilities = [0.25, 0.75] }", prediction);
        Assert.Equal("ChoicePrediction { Choice = 2, Score = 0.5, Probabilities = [0.125, 0.375, 0.5] }", choice);
    }

    [Fact]
    public void A_head_fine_tuning_result_shows_a_long_loss_list_by_its_ends_and_count()
    {
        double[] losses = [.. Enumerable.Range(0, 10).Select(i => i / 4.0)];
        var result = new HeadFineTuneResult("out/ner", losses, [], null, Completed: false, Checkpoint: "out/ner/checkpoint-10");
        Assert.Equal("HeadFineTuneResult { OutputDir = out/ner, StepLosses = [0, 0.25, 0.5, …, 1.75, 2, 2.25] (10 items), Epochs = [], "
            + "FinalValidation = , Completed = False, Checkpoint = out/ner/checkpoint-10 }", result.ToString());
    }

    [Fact]
    public void A_fine_tuning_result_shows_its_losses_labels_and_validation_scores()
    {
        // Truth 0 1 1 0, predicted 0 1 0 0: 3 of 4 right; class 1 found once of twice, never wrongly (precision 1, recall 0.5).
        var report = MetricsReport.ForClassification(["neg", "pos"], [0, 1, 1, 0], [0, 1, 0, 0]);
        var text = report.ToString();
        Assert.StartsWith("MetricsReport { Count = 4, accuracy = 0.75, ", text, StringComparison.Ordinal);
        Assert.Contains(", precision = 1, recall = 0.5 }", text, StringComparison.Ordinal);
        var result = new FineTuneResult("out/sst2", [0.5, 0.25], [], LabelMap.FromLabels(["neg", "pos"]), report);
        Assert.Equal($"FineTuneResult {{ OutputDir = out/sst2, StepLosses = [0.5, 0.25], Epochs = [], Labels = [neg, pos], FinalValidation = {text}, "
            + "Completed = True, Checkpoint =  }", result.ToString());
    }
}
