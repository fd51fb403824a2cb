using BertSharp.Distributed;
using BertSharp.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Tests.Training;

/// <summary>
/// The data-parallel gradient hook sums the gradients of the parameters its <see cref="DataParallel"/> holds, not of those the
/// trainer passes: any it does not hold would stay per-rank while every rank steps on them. One rank suffices, since the check
/// comes before the sum's one-rank shortcut.
/// </summary>
public sealed class DataParallelGradientSyncTests
{
    [Fact]
    public void A_trained_parameter_the_data_parallel_does_not_hold_is_refused_by_position_and_shape()
    {
        using var w = new Parameter(ones(3, 2));
        using var b = new Parameter(ones(2));
        // Another model instance: the same shape, another tensor.
        using var otherB = new Parameter(ones(2));
        using var dp = new DataParallel(new LocalCommunicator(), [("w", w), ("b", b)]);
        var sync = new DataParallelGradientSync(dp);
        var e = Assert.Throws<InvalidOperationException>(() => sync.Synchronize([w, otherB]));
        Assert.Equal("data-parallel gradient sync: trainable parameter 1 of the 2 to synchronise (shape 2) is not one the DataParallel was " +
                     "built over; build it over the trained model's NamedParameters(), after adding every head.", e.Message);
    }

    [Fact]
    public void A_held_parameter_the_trainer_does_not_pass_is_refused_by_name()
    {
        // The DataParallel built over the whole model, the trainer over its encoder alone: it holds the head, the trainer's list does not.
        using var w = new Parameter(ones(3, 2));
        using var head = new Parameter(ones(4));
        using var dp = new DataParallel(new LocalCommunicator(), [("encoder.w", w), ("head.weight", head)]);
        var sync = new DataParallelGradientSync(dp);
        var e = Assert.Throws<InvalidOperationException>(() => sync.Synchronize([w]));
        Assert.Equal("data-parallel gradient sync: the DataParallel holds 2 trainable parameters but 1 was passed; head.weight is not among them.", e.Message);
    }

    [Fact]
    public void The_refusal_counts_parameters_in_the_singular_and_the_plural()
    {
        using var w = new Parameter(ones(3, 2));
        using var b = new Parameter(ones(2));
        using var head = new Parameter(ones(4));
        using (var dp = new DataParallel(new LocalCommunicator(), [("encoder.w", w), ("encoder.b", b), ("head.weight", head)]))
        {
            var e = Assert.Throws<InvalidOperationException>(() => new DataParallelGradientSync(dp).Synchronize([w, b]));
            Assert.Equal("data-parallel gradient sync: the DataParallel holds 3 trainable parameters but 2 were passed; head.weight is not among them.", e.Message);
        }
        using (var dp = new DataParallel(new LocalCommunicator(), [("head.weight", head)]))
        {
            var e = Assert.Throws<InvalidOperationException>(() => new DataParallelGradientSync(dp).Synchronize([]));
            Assert.Equal("data-parallel gradient sync: the DataParallel holds 1 trainable parameter but 0 were passed; head.weight is not among them.", e.Message);
        }
    }

    [Fact]
    public void The_same_trainable_parameters_pass_and_frozen_ones_are_not_counted()
    {
        using var w = new Parameter(ones(3, 2));
        using var frozen = new Parameter(ones(2), requires_grad: false);
        using var elsewhere = new Parameter(ones(5), requires_grad: false);
        using (var loss = w.sum())
        {
            loss.backward();
        }
        using var dp = new DataParallel(new LocalCommunicator(), [("w", w), ("frozen", frozen)]);
        var sync = new DataParallelGradientSync(dp);
        // A frozen parameter the DataParallel does not hold has no gradient to sum: not a mismatch.
        sync.Synchronize([w, elsewhere]);
        sync.Synchronize([w]);
        // One rank: the sum is the gradient itself.
        Assert.Equal(Enumerable.Repeat(1f, 6), w.grad!.data<float>().ToArray());
    }
}
