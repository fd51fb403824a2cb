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
    /// " (epoch 2 of 3, best by mcc; validation: accuracy 0.8, …)"; a run its patience stopped adds where it stopped:
    /// " (epoch 2 of 6, best by mcc; stopped early after epoch 4, patience 2; validation: …)"; with --eval-steps the kept
    /// validation is named by its step and HF's fractional epoch: " (step 40, epoch 1.3333 of 3, best by mcc; stopped early
    /// after step 60, patience 2; …)". Without the kept epoch when no metric chose one, or "" without validation.
    /// </summary>
    /// <param name="validation">The saved weights' validation scores, or null.</param>
    /// <param name="metrics">
    /// The scores to show, in order; those the report lacks are skipped. <paramref name="saveBest"/>'s score follows them when
    /// it is not among them.
    /// </param>
    /// <param name="saveBest">The metric that chose the epoch, or null when the last step's weights were saved.</param>
    /// <param name="epochs">The run's epochs (or validations, with --eval-steps), the kept one marked <see cref="EpochSummary.IsBest"/>.</param>
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
        var last = epochs.Count == 0 ? null : epochs[^1];
        // Clauses side by side, not nested: what was kept, then why the run ended before its last epoch.
        var kept = best switch
        {
            null => "",
            { EvalEpoch: { } bestEpoch } => string.Create(CultureInfo.InvariantCulture,
                $"step {best.Step}, epoch {FinetuneProgressView.FractionalEpoch(bestEpoch)} of {totalEpochs}, best by {saveBest}; "),
            _ => string.Create(CultureInfo.InvariantCulture, $"epoch {best.Epoch} of {totalEpochs}, best by {saveBest}; "),
        };
        // A completed run whose validations end before its last epoch does was stopped by its patience.
        var stopped = (patience, best, last) switch
        {
            ({ } n, not null, { EvalEpoch: { } at }) when at < totalEpochs => string.Create(CultureInfo.InvariantCulture,
                $"stopped early after step {last.Step}, patience {n}; "),
            ({ } n, not null, { EvalEpoch: null }) when last.Epoch < totalEpochs => string.Create(CultureInfo.InvariantCulture,
                $"stopped early after epoch {last.Epoch}, patience {n}; "),
            _ => "",
        };
        // The metric that chose the epoch is the one the user asked about, whether or not it is one of the task's headline scores.
        var shown = saveBest is null ? metrics : metrics.Append(saveBest).Distinct(StringComparer.Ordinal);
        return $" ({kept}{stopped}validation: "
            + string.Join(", ", shown.Where(validation.Values.ContainsKey).Select(k => $"{k} {MetricsReport.Format(validation.Values[k])}")) + ")";
    }
}
