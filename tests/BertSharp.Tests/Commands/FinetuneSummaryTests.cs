using BertSharp.Cli.Commands;
using BertSharp.Evaluation;
using BertSharp.Training;

namespace BertSharp.Tests.Commands;

public sealed class FinetuneSummaryTests
{
    // truth 0,0,1,1 / predicted 0,1,1,1: accuracy 3/4; macro F1 = (2/3 + 4/5) / 2 = 11/15 = 0.7333 (by hand).
    private static readonly MetricsReport Validation = MetricsReport.ForClassification(["negative", "positive"], [0, 0, 1, 1], [0, 1, 1, 1]);

    private static readonly EpochSummary[] Epochs =
    [
        new(1, 0.7, Validation, TimeSpan.FromSeconds(1), 10, IsBest: false, Step: 2),
        new(2, 0.6, Validation, TimeSpan.FromSeconds(1), 10, IsBest: true, Step: 4),
        new(3, 0.5, Validation, TimeSpan.FromSeconds(1), 10, IsBest: false, Step: 6),
    ];

    [Fact]
    public void A_save_best_metric_outside_the_headline_scores_is_shown_after_them()
    {
        Assert.Equal(" (epoch 2 of 3, best by macro_f1; validation: accuracy 0.7500, macro_f1 0.7333)",
            FinetuneSummary.Of(Validation, ["accuracy"], "macro_f1", Epochs, 3));
    }

    [Fact]
    public void A_save_best_metric_among_the_headline_scores_is_shown_once_in_its_place()
    {
        Assert.Equal(" (epoch 2 of 3, best by accuracy; validation: accuracy 0.7500, macro_f1 0.7333)",
            FinetuneSummary.Of(Validation, ["accuracy", "macro_f1"], "accuracy", Epochs, 3));
        Assert.Equal(" (validation: accuracy 0.7500)", FinetuneSummary.Of(Validation, ["accuracy"], null, Epochs, 3));
    }
}
