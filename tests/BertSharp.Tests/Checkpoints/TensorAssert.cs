using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Checkpoints;

internal static class TensorAssert
{
    /// <summary>Same dtype, shape and bit-identical values.</summary>
    public static void Identical(Tensor expected, Tensor actual, string name)
    {
        Assert.True(expected.dtype == actual.dtype, $"{name}: dtype {actual.dtype}, expected {expected.dtype}");
        Assert.True(expected.shape.SequenceEqual(actual.shape), $"{name}: shape [{string.Join(",", actual.shape)}], expected [{string.Join(",", expected.shape)}]");
        Assert.True(expected.equal(actual).all().item<bool>(), $"{name}: values differ");
    }
}
