using System.Text.Json.Nodes;

namespace BertSharp.Training;

/// <summary>
/// HF's <c>EarlyStoppingCallback</c> on fine-tuning's per-epoch validation: the counter of epochs whose save_best metric did
/// not improve on the best so far by more than the threshold, and whether the run stops. Its counter is part of a
/// checkpoint's trainer state, as HF keeps it in trainer_state.json's stateful_callbacks.
/// </summary>
/// <param name="patience">Epochs without improvement that stop the run (≥ 1).</param>
/// <param name="threshold">How much (absolute) the metric must beat the best so far to count as an improvement (≥ 0).</param>
internal sealed class EarlyStopping(int patience, double threshold)
{
    // HF's attribute name, under which a checkpoint's trainer state holds the counter.
    private const string CounterKey = "early_stopping_patience_counter";

    /// <summary>Epochs in a row without improvement so far.</summary>
    public int Counter { get; private set; }

    /// <summary>The epochs without improvement that stop the run.</summary>
    public int Patience => patience;

    /// <summary>Whether the counter has reached the patience: the run stops at the validation that counted last.</summary>
    public bool Reached => Counter >= patience;

    /// <summary>
    /// Counts an epoch's <paramref name="value"/> against <paramref name="best"/>, the best value before this epoch (HF's
    /// on_evaluate runs before _determine_best_metric updates state.best_metric), and says whether the run stops here.
    /// </summary>
    public bool ShouldStop(double? best, double value, bool lowerIsBetter)
    {
        // A first epoch, or the first number after an undefined (NaN) best, improves as save_best ranks it; otherwise by more
        // than the threshold, so a step that makes the epoch the best by less still counts against the patience.
        var improved = FineTuneHooks.Improves(best, value, lowerIsBetter)
            && (best is not { } b || double.IsNaN(b) || Math.Abs(value - b) > threshold);
        Counter = improved ? 0 : Counter + 1;
        return Reached;
    }

    /// <summary>Writes the counter into a checkpoint's task state.</summary>
    public void Save(JsonObject state) => state[CounterKey] = Counter;

    /// <summary>Continues from a checkpoint's task state (0 when it has no counter).</summary>
    public void Restore(JsonObject state)
    {
        var n = TrainLog.Number(state, CounterKey);
        Counter = double.IsFinite(n) ? (int)n : 0;
    }
}
