using BertSharp.Cli.Commands;

namespace BertSharp.Tests.Distributed;

/// <summary>
/// How `bert bench allreduce` rounds its bandwidths: to three significant digits, so that a slow run (shared-memory copies on
/// a loaded machine: a 17.6 MB all-reduce in 4 s is 0.0044 GB/s) is not printed as 0 GB/s, which the 3-rank test of
/// DataParallelTrainingTests saw under load.
/// </summary>
public sealed class AllReduceBenchFiguresTests
{
    [Theory]
    [InlineData(0.0044321, 0.00443)]
    [InlineData(0.012349, 0.0123)]
    [InlineData(1.23456, 1.23)]
    [InlineData(47.891, 47.9)]
    [InlineData(312.74, 313)]
    [InlineData(1234.5678, 1235)]
    [InlineData(0.0, 0.0)]
    public void Bandwidths_keep_three_significant_digits(double value, double expected) =>
        Assert.Equal(expected, AllReduceBenchCommand.Significant(value));
}
