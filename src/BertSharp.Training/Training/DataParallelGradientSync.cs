using BertSharp.Distributed;
using TorchSharp.Modules;

namespace BertSharp.Training;

/// <summary>
/// The trainer's gradient hook over <see cref="DataParallel"/>: after the last micro-batch's backward pass every rank's
/// gradients are averaged across the ranks (bucketed all-reduce), so each rank clips and steps on the same gradients.
/// </summary>
/// <param name="dataParallel">The data-parallel helper built over the same model's parameters.</param>
/// <param name="localWeight">This rank's share of the global batch relative to an even split (1 when every rank has as many examples).</param>
public sealed class DataParallelGradientSync(DataParallel dataParallel, double localWeight = 1.0) : IGradientSync
{
    public void Synchronize(IReadOnlyList<Parameter> parameters) => dataParallel.AverageGradients(localWeight);
}
