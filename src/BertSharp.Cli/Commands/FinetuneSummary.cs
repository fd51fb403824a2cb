using System.Globalization;
using BertSharp.Evaluation;
using BertSharp.Training;

namespace BertSharp.Cli.Commands;

/// <summary>
/// The part of finetune's closing line after the output directory, for every task: which epoch --save-best kept and the
/// validation scores of the saved weights, in one wording.
/// </summary>
internal static class FinetuneSummary
{
    /// <summary>
    /// " (epoch 2 of 3, best by mcc; validation: accuracy 0.8, …)", or " (stopped early at epoch 4 of 6 (patience 2, best epoch
    /// 2 by mcc); validation: …)", with --eval-steps " (step 40 (epoch 1.3333 of 3), best by mcc; …)" or " (stopped early at
    /// step 60, epoch 2 of 3 (patience 2, best step 20 by mcc); …)", without the epoch when no metric chose one, or "" without
    /// validation.
    /// </summary>
    /// <param name="validation">The saved weights' validation scores, or null.</param>
    /// <param name="metrics">
    /// The scores to show, in order; those the report lacks are skipped. <paramref name="saveBest"/>'s score follows them when
    /// it is not among them.
    /// </param>
    /// <param name="saveBest">The metric that chose the epoch, or null when the last step's weights were saved.</param>
    /// <param name="epochs">The run's epochs, the kept one marked <see cref="EpochSummary.IsBest"/>.</param>
    /// <param name="totalEpochs">The epochs the run was set to train.</param>
    /// <param name="patience">The run's early-stopping patience, or null.</param>
    public static string Of(MetricsReport? validation, IEnumerable<string> metrics, string? saveBest, IReadOnlyList<EpochSummary> epochs, int totalEpochs,
        int? patience = null)
    {
        if (validation is null)
        {
            return "";
        }
        // Which epoch --save-best kept was only in train_log.jsonl: the scores read as the last epoch's.
        var best = saveBest is null ? null : epochs.LastOrDefault(e => e.IsBest);
        // A completed run whose epochs end before the last one it was set to train was stopped by its patience.
        // Validating at steps (--eval-steps), a validation is named by its step and HF's fractional epoch.
        var last = epochs.Count == 0 ? null : epochs[^1];
        var kept = (patience, best) switch
        {
            ({ } n, { EvalEpoch: not null }) when last!.EvalEpoch < totalEpochs => string.Create(CultureInfo.InvariantCulture,
                $"stopped early at step {last.Step}, epoch {FinetuneProgressView.FractionalEpoch(last.EvalEpoch.Value)} of {totalEpochs} (patience {n}, best step {best.Step} by {saveBest}); "),
            (_, { EvalEpoch: { } bestEpoch }) => string.Create(CultureInfo.InvariantCulture,
                $"step {best.Step} (epoch {FinetuneProgressView.FractionalEpoch(bestEpoch)} of {totalEpochs}), best by {saveBest}; "),
            ({ } n, not null) when last!.Epoch < totalEpochs => string.Create(CultureInfo.InvariantCulture,
                $"stopped early at epoch {last.Epoch} of {totalEpochs} (patience {n}, best epoch {best.Epoch} by {saveBest}); "),
            (_, not null) => string.Create(CultureInfo.InvariantCulture, $"epoch {best.Epoch} of {totalEpochs}, best by {saveBest}; "),
            _ => "",
        };
        // The metric that chose the epoch is the one the user asked about, whether or not it is one of the task's headline scores.
        var shown = saveBest is null ? metrics : metrics.Append(saveBest).Distinct(StringComparer.Ordinal);
        return $" ({kept}validation: "
            + string.Join(", ", shown.Where(validation.Values.ContainsKey).Select(k => $"{k} {MetricsReport.Format(validation.Values[k])}")) + ")";
    }
}
