using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Inference;

public sealed class FeatureExtractionTests
{
    private const string Case = "token-classification";

    // The fixture's out.last_hidden_state is HF's encoder output for the same texts, so CLS pooling must equal its row 0 and
    // mean pooling its mean over the text's real tokens; batching and bucketing by length must not change either.
    [Theory]
    [InlineData(Pooling.Cls, 1)]
    [InlineData(Pooling.Cls, 4)]
    [InlineData(Pooling.Mean, 2)]
    public void Pooled_vectors_equal_HF_hidden_states(Pooling pooling, int batchSize)
    {
        var rows = InferenceFixtures.Rows(Case);
        var reference = HfFixture.Tensors(Case);
        using var pipe = FeatureExtraction.Load(HfFixture.Dir(Case));
        var vectors = pipe.Embed([.. rows.Select(r => r.Text)], new FeatureExtractionOptions(pooling, BatchSize: batchSize));
        var hidden = reference["out.last_hidden_state"];
        for (var i = 0; i < rows.Count; i++)
        {
            var h = InferenceFixtures.Slice(hidden, i, rows[i].Length);
            var expected = new float[64];
            for (var d = 0; d < 64; d++)
            {
                expected[d] = pooling == Pooling.Cls ? h[d] : (float)Enumerable.Range(0, rows[i].Length).Average(t => h[(t * 64) + d]);
            }
            InferenceFixtures.AssertClose(expected, vectors[i], 1e-5, $"row {i}");
        }
        HfFixture.DisposeAll(reference);
    }

    [Fact]
    public void Normalized_vectors_have_unit_norm_and_the_direction_of_the_raw_ones()
    {
        using var pipe = FeatureExtraction.Load(HfFixture.Dir(Case));
        string[] texts = ["Us love they.", "a tender , heartfelt family drama . "];
        var raw = pipe.Embed(texts, new FeatureExtractionOptions(Pooling.Mean));
        var unit = pipe.Embed(texts, new FeatureExtractionOptions(Pooling.Mean, Normalize: true));
        for (var i = 0; i < texts.Length; i++)
        {
            var norm = Math.Sqrt(raw[i].Sum(v => (double)v * v));
            Assert.Equal(1.0, Math.Sqrt(unit[i].Sum(v => (double)v * v)), 5);
            InferenceFixtures.AssertClose([.. raw[i].Select(v => (float)(v / norm))], unit[i], 1e-6, $"text {i}");
        }
    }
}
