using BertSharp.Training.Pretraining;

namespace BertSharp.Tests.Training;

/// <summary>Pre-training's mean_tokens_per_second, on a hand-made sequence of steps.</summary>
public sealed class MeanThroughputTests
{
    [Fact]
    public void The_first_step_counts_only_while_it_is_the_only_one()
    {
        var mean = new MeanThroughput();
        // A warm-up step: 1,000 tokens in 4 s. Alone, its own speed is all there is.
        Assert.Equal(250.0, mean.Add(1_000, 4.0));
        // Then 1,000 tokens in 0.5 s and 3,000 in 1.5 s: (1,000 + 3,000) / (0.5 + 1.5) = 2,000 tokens/s, where counting the
        // warm-up would give 5,000 / 6 = 833.3.
        Assert.Equal(2_000.0, mean.Add(1_000, 0.5));
        Assert.Equal(2_000.0, mean.Add(3_000, 1.5));
        // Tokens over time, not the mean of the steps' speeds (2,000, 2,000 and 66.7 would average 1,355.6): 4,100 / 3.5.
        Assert.Equal(4_100 / 3.5, mean.Add(100, 1.5), 12);
    }
}
