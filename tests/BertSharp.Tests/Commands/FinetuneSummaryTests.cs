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

    [Fact]
    public void A_run_its_patience_stopped_says_what_was_kept_then_where_it_stopped()
    {
        // Epochs 1-3 of 6 run, epoch 2 kept: the stop is its own clause after the kept epoch.
        Assert.Equal(" (epoch 2 of 6, best by accuracy; stopped early after epoch 3, patience 1; validation: accuracy 0.7500)",
            FinetuneSummary.Of(Validation, ["accuracy"], "accuracy", Epochs, 6, patience: 1));
        // All 3 epochs run: nothing stopped early, whatever the patience.
        Assert.Equal(" (epoch 2 of 3, best by accuracy; validation: accuracy 0.7500)",
            FinetuneSummary.Of(Validation, ["accuracy"], "accuracy", Epochs, 3, patience: 1));
    }

    [Fact]
    public void Validations_at_steps_are_named_by_step_and_fractional_epoch()
    {
        // 3 steps an epoch, a validation every 2 steps: steps 2, 4, 6 are epochs 2/3, 4/3 and 2 of a 3-epoch run.
        EpochSummary[] atSteps =
        [
            Epochs[0] with { Epoch = 1, EvalEpoch = 2.0 / 3 },
            Epochs[1] with { Epoch = 2, EvalEpoch = 4.0 / 3 },
            Epochs[2] with { Epoch = 2, EvalEpoch = 2.0 },
        ];
        Assert.Equal(" (step 4, epoch 1.3333 of 3, best by accuracy; stopped early after step 6, patience 1; validation: accuracy 0.7500)",
            FinetuneSummary.Of(Validation, ["accuracy"], "accuracy", atSteps, 3, patience: 1));
        Assert.Equal(" (step 4, epoch 1.3333 of 2, best by accuracy; validation: accuracy 0.7500)",
            FinetuneSummary.Of(Validation, ["accuracy"], "accuracy", atSteps, 2, patience: 1));
    }
}
