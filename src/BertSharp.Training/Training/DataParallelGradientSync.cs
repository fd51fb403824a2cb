using BertSharp.Distributed;
using TorchSharp.Modules;

namespace BertSharp.Training;

/// <summary>
/// The trainer's gradient hook over <see cref="DataParallel"/>: after the last micro-batch's backward pass every rank's
/// gradients are summed across the ranks (bucketed all-reduce). Each rank's task returned its share of the global loss
/// (its slice's mean weighted by its examples or tokens over the whole global batch), so the sum is the gradient of the
/// global batch's loss and every rank clips and steps on the same gradients.
/// </summary>
/// <param name="dataParallel">The data-parallel helper built over the same model's parameters.</param>
public sealed class DataParallelGradientSync(DataParallel dataParallel) : IGradientSync
{
    private bool _checked;

    /// <summary>
    /// Replaces the gradient of every trainable parameter the <see cref="DataParallel"/> was built over by its sum over the
    /// ranks, in place. A collective call: every rank makes it at the same step.
    /// </summary>
    /// <param name="parameters">The trainable parameters the trainer steps; on the first call they must be, by reference, the
    /// trainable parameters the <see cref="DataParallel"/> holds (one built over another model instance, or before a head
    /// was added, would leave those gradients per-rank and the ranks would diverge).</param>
    /// <exception cref="InvalidOperationException">On the first call, <paramref name="parameters"/> and the
    /// <see cref="DataParallel"/>'s trainable parameters differ (the message names the first one that is not in both).</exception>
    public void Synchronize(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        // Before the sum, which returns at once for one rank: a mismatch must be said where it is cheap to try, on one process.
        if (!_checked)
        {
            dataParallel.CheckHoldsTrainable(parameters);
            _checked = true;
        }
        dataParallel.SumGradients();
    }
}
