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
    /// <summary>
    /// Replaces the gradient of every trainable parameter the <see cref="DataParallel"/> was built over by its sum over the
    /// ranks, in place. A collective call: every rank makes it at the same step.
    /// </summary>
    /// <param name="parameters">Not read: the parameters summed are those the <see cref="DataParallel"/> holds, which must be the trained model's.</param>
    public void Synchronize(IReadOnlyList<Parameter> parameters) => dataParallel.SumGradients();
}
