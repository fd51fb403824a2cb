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

    [Fact]
    public void A_classifier_evaluation_shows_its_batch_scores_and_logit_rows_in_the_invariant_culture()
    {
        var report = MetricsReport.ForClassification(["neg", "pos"], [0, 1], [0, 1]);
        // The logit rows are arrays inside the list; a culture with U+2212 for the minus sign must not reach them.
        var text = HostCulture.Run(() => new EvaluationResult(report, [0.5, -0.25], [[1.5f, -0.5f], [-2f, 2.25f]]).ToString());
        Assert.Equal($"EvaluationResult {{ Report = {report}, BatchMcc = [0.5, -0.25], Logits = [[1.5, -0.5], [-2, 2.25]] }}", text);
    }

    [Fact]
    public void A_tagging_evaluation_shows_its_per_type_scores_and_predicted_tags()
    {
        // PER found nowhere right, LOC once of once: micro 1 of 2 predicted and 1 of 2 gold entities.
        var perType = new SortedDictionary<string, EntityScores>(StringComparer.Ordinal)
        {
            ["PER"] = new(0, 0, 0, 1) { Predicted = 1 },
            ["LOC"] = new(1, 1, 1, 1) { Predicted = 1 },
        };
        var scores = new SeqevalReport(perType, new EntityScores(0.5, 0.5, 0.5, 2) { Predicted = 2 }, 0.75);
        var text = HostCulture.Run(() => new TaggingEvaluation(scores, 0.125, [["B-PER", "O", null]], 1).ToString());
        Assert.Equal("TaggingEvaluation { Scores = SeqevalReport { PerType = [[LOC, EntityScores { Precision = 1, Recall = 1, F1 = 1, Support = 1, Predicted = 1 }], "
            + "[PER, EntityScores { Precision = 0, Recall = 0, F1 = 0, Support = 1, Predicted = 1 }]], "
            + "Micro = EntityScores { Precision = 0.5, Recall = 0.5, F1 = 0.5, Support = 2, Predicted = 2 }, Accuracy = 0.75, StrictScheme =  }, "
            + "Loss = 0.125, Predicted = [[B-PER, O, null]], CutWords = 1 }", text);
    }

    [Fact]
    public void QA_and_multiple_choice_evaluations_show_their_answers_and_probabilities()
    {
        var scores = new SquadScores(50, 62.5, 2, 50, 62.5, 2, double.NaN, 0, 50, 0, 62.5, -1.5);
        var (qa, choice) = HostCulture.Run(() => (
            new QaEvaluation(scores, [new SquadPrediction("Paris", -1.5), new SquadPrediction("", 0.25)], false, 0).ToString(),
            new ChoiceEvaluation(0.5, 0.75, [1, 0], [[0.25, 0.75], [0.625, 0.375]]).ToString()));
        Assert.Equal("QaEvaluation { Scores = SquadScores { Exact = 50, F1 = 62.5, Total = 2, HasAnsExact = 50, HasAnsF1 = 62.5, HasAnsTotal = 2, NoAnsExact = NaN, "
            + "NoAnsTotal = 0, BestExact = 50, BestExactThreshold = 0, BestF1 = 62.5, BestF1Threshold = -1.5 }, "
            + "Predictions = [SquadPrediction { BestAnswer = Paris, NullScoreDiff = -1.5 }, SquadPrediction { BestAnswer = , NullScoreDiff = 0.25 }], "
            + "Version2 = False, Threshold = 0 }", qa);
        Assert.Equal("ChoiceEvaluation { Accuracy = 0.5, Loss = 0.75, Predicted = [1, 0], Probabilities = [[0.25, 0.75], [0.625, 0.375]] }", choice);
    }

    [Fact]
    public void Dataset_stats_show_their_labels_lengths_and_task_columns()
    {
        int[] lengths = [.. Enumerable.Range(5, 10)];
        var stats = new DatasetStats("train.tsv", TaskSpec.Sst2, 4, [("1", 3), ("0", 1)], [("1", 2, 4, 3), ("0", 5, 5, 1)], lengths, 0.25);
        var text = HostCulture.Run(stats.ToString);
        Assert.Equal("DatasetStats { Path = train.tsv, Task = TaskSpec { Name = sst2, Format = Tsv, FixedColumns = , TextColumn = sentence, TextPairColumn = , "
            + "LabelColumn = label, KnownLabels = [[0, negative], [1, positive]], Regression = False, CleanHtmlBreaks = False, DefaultBatchSize = 32, "
            + "DefaultEpochs = 4, DefaultMaxLength = 128, PrimaryMetric = accuracy }, Examples = 4, Labels = [(1, 3), (0, 1)], "
            + "LabelBlocks = [(1, 2, 4, 3), (0, 5, 5, 1)], TokenLengths = [5, 6, 7, …, 12, 13, 14] (10 items), UnknownShare = 0.25, Targets =  }", text);
    }
}
