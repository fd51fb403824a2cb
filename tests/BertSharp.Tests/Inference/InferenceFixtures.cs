using System.Text.Json.Nodes;
using BertSharp.Tests.Modeling;
using static TorchSharp.torch;

namespace BertSharp.Tests.Inference;

/// <summary>Texts of the HF fixture cases and per-row slices of their reference tensors.</summary>
internal static class InferenceFixtures
{
    /// <summary>(text, text_pair, token count) of each row of <c>cases.&lt;case&gt;.inputs.in</c>.</summary>
    public static List<(string Text, string? Pair, int Length)> Rows(string caseName) =>
        [.. ((JsonArray)HfFixture.Case(caseName)["inputs"]!["in"]!).Select(r =>
            ((string)r!["text"]!, (string?)r["text_pair"], (int)r["length"]!))];

    /// <summary>Row <paramref name="row"/> of a [batch, seq, ...] tensor, first <paramref name="length"/> positions, as float32 arrays.</summary>
    public static float[] Slice(Tensor t, int row, int length)
    {
        using var r = t[row].narrow(0, 0, length).contiguous().to(ScalarType.Float32);
        return r.data<float>().ToArray();
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        }
        Assert.True(worst <= atol, $"{what}: max |diff| {worst:E3} > {atol:E1}");
    }
}
