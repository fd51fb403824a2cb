using BertSharp.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// The fine-tuning tasks' loss bookkeeping: in a data-parallel run each rank holds a slice of every micro-batch and
/// back-propagates its share of the micro-batch's mean loss, its mean × its weight / the weight of the whole micro-batch
/// (one all-reduce), where the weight is what the task's loss averages over (examples, tagged tokens); the shares of the
/// ranks add up to the loss one process computes. The logged losses and example counts are summed across the ranks at the
/// end of the step. One process: the weight is the whole micro-batch's and the loss passes through.
/// </summary>
internal sealed class LossShares(ICommunicator? communicator)
{
    private readonly ICommunicator _comm = communicator ?? new LocalCommunicator();
    private readonly List<double> _losses = [];
    private readonly List<double> _sizes = [];

    /// <summary>Each micro-batch's loss of the last step, in order (over all ranks).</summary>
    public IReadOnlyList<double> LastLosses { get; private set; } = [];

    /// <summary>Each micro-batch's example count of the last step, in order (over all ranks).</summary>
    public IReadOnlyList<int> LastSizes { get; private set; } = [];

    /// <summary>
    /// This rank's share of a micro-batch's loss: <paramref name="forward"/> (the mean loss of this rank's slice, a scalar)
    /// weighted by <paramref name="weight"/> over the micro-batch's weight on all ranks; null (no forward pass) when this
    /// rank's slice weighs nothing.
    /// </summary>
    public Tensor? Share(double weight, int examples, Func<Tensor> forward)
    {
        var total = DataParallelRun.Sum(_comm, weight)[0];
        _sizes.Add(examples);
        if (weight == 0)
        {
            _losses.Add(0);
            return null;
        }
        var loss = forward();
        var value = loss.to(torch.float64).cpu().item<double>();
        if (weight == total)
        {
            _losses.Add(value);
            return loss;
        }
        var share = weight / total;
        _losses.Add(value * share);
        // An explicit Scalar that lives past the call: TorchSharp's implicit one can be freed by the GC during it.
        using var shareScalar = share.ToScalar();
        return loss.mul(shareScalar);
    }

    /// <summary>The step's loss (the mean of its micro-batches', summed across the ranks); resets for the next step.</summary>
    public StepMetrics EndStep()
    {
        var n = _losses.Count;
        var sums = DataParallelRun.Sum(_comm, [.. _losses, .. _sizes]);
        LastLosses = sums[..n];
        LastSizes = [.. sums[n..].Select(s => (int)s)];
        _losses.Clear();
        _sizes.Clear();
        return new StepMetrics(LastLosses.Average(), new Dictionary<string, double>());
    }
}
