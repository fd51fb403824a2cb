using BertSharp.Tokenization;

namespace BertSharp.Tests.Tokenization;

/// <summary>
/// The longest_first budget split and the overflow windows, against the expectations in HF tokenizers' own unit tests
/// (tokenizers/src/utils/truncation.rs, truncate_encodings_longest_first: lengths 0/2/4/8, max_length 7).
/// </summary>
public class TruncationTests
{
    [Theory]
    [InlineData(0, 0, 0, 0)]
    [InlineData(0, 2, 0, 2)]
    [InlineData(0, 4, 0, 4)]
    [InlineData(0, 8, 0, 7)]
    [InlineData(2, 0, 2, 0)]
    [InlineData(2, 2, 2, 2)]
    [InlineData(2, 4, 2, 4)]
    [InlineData(2, 8, 2, 5)]
    [InlineData(4, 0, 4, 0)]
    [InlineData(4, 2, 4, 2)]
    [InlineData(4, 4, 3, 4)]
    [InlineData(4, 8, 3, 4)]
    [InlineData(8, 0, 7, 0)]
    [InlineData(8, 2, 5, 2)]
    [InlineData(8, 4, 4, 3)]
    [InlineData(8, 8, 3, 4)]
    public void LongestFirstMatchesHfTable(int nA, int nB, int expectedA, int expectedB) =>
        Assert.Equal((expectedA, expectedB), Truncation.TargetLengths(nA, nB, isPair: true, maxLength: 7, TruncationStrategy.LongestFirst));

    [Fact]
    public void MaxLengthZeroEmptiesBoth()
    {
        Assert.Equal((0, 0), Truncation.TargetLengths(4, 4, isPair: true, maxLength: 0, TruncationStrategy.LongestFirst));
        Assert.Equal((0, 0), Truncation.TargetLengths(4, 4, isPair: true, maxLength: 0, TruncationStrategy.OnlyFirst));
    }

    [Fact]
    public void WindowsStepByLengthMinusStrideAndEndAtTheLastToken()
    {
        Assert.Equal([(0, 4), (2, 6), (4, 8), (6, 9)], Truncation.Windows(9, 4, 2));
        Assert.Equal([(0, 3), (3, 6), (6, 7)], Truncation.Windows(7, 3, 0));
        Assert.Equal([(0, 5)], Truncation.Windows(5, 5, 2));
        Assert.Equal([(0, 0), (0, 5)], Truncation.Windows(5, 0, 0));
        Assert.Throws<BertSharpException>(() => Truncation.Windows(9, 3, 3));
    }
}
