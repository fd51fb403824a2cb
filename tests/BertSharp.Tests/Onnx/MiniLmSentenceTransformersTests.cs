using System.Text;
using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Onnx;

/// <summary>
/// The imported all-MiniLM-L6-v2 embeds by default as sentence-transformers' <c>encode</c> does: mean pooling over the real
/// tokens, L2 normalisation, inputs cut at sentence_bert_config.json's 256 word pieces. The reference is ONNX Runtime's
/// last_hidden_state of the package's original graph, pooled and normalised here, and cut here from the whole text's ids.
/// </summary>
public sealed class MiniLmSentenceTransformersTests
{
    private static readonly string[] Texts = ["A man is playing a guitar.", "the movie was a gripping , heartfelt drama ."];

    [Fact]
    public void The_import_writes_the_hub_repositorys_sentence_transformers_files()
    {
        // The bytes of sentence-transformers/all-MiniLM-L6-v2's files on the Hub (json.dump with indent=2, no final newline).
        Assert.Equal("""
            [
              {
                "idx": 0,
                "name": "0",
                "path": "",
                "type": "sentence_transformers.models.Transformer"
              },
              {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling"
              },
              {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize"
              }
            ]
            """, ReadExact("modules.json"));
        Assert.Equal("""
            {
              "word_embedding_dimension": 384,
              "pooling_mode_cls_token": false,
              "pooling_mode_mean_tokens": true,
              "pooling_mode_max_tokens": false,
              "pooling_mode_mean_sqrt_len_tokens": false
            }
            """, ReadExact(Path.Combine("1_Pooling", "config.json")));
        Assert.Equal("""
            {
              "max_seq_length": 256,
              "do_lower_case": false
            }
            """, ReadExact("sentence_bert_config.json"));
    }

    [Fact]
    public void Default_embed_is_ort_mean_pooled_over_real_tokens_and_normalised()
    {
        var dir = MiniLm.Scratch("st-default-" + Guid.NewGuid().ToString("N")[..8]);
        File.WriteAllLines(Path.Combine(dir, "in.txt"), Texts);
        var (vectors, plan) = Embed(dir);
        var tokenizer = BertTokenizer.FromDirectory(MiniLm.Imported);
        using var ort = OnnxBertSession.Open(MiniLm.OriginalOnnx, TestTorch.OrtThreads);
        for (var i = 0; i < Texts.Length; i++)
        {
            AssertClose(OrtEmbedding(ort, tokenizer.Encode(Texts[i]).Ids.ToArray()), vectors[i], $"text {i}");
        }
        Assert.Equal("pooling: mean (1_Pooling/config.json), normalize: true (modules.json Normalize), max_length: 256 (sentence_bert_config.json max_seq_length)", plan);
    }

    [Fact]
    public void A_text_longer_than_256_tokens_is_cut_at_256_by_default_and_at_max_length_when_given()
    {
        var dir = MiniLm.Scratch("st-long-" + Guid.NewGuid().ToString("N")[..8]);
        var text = string.Join(' ', Enumerable.Range(0, 60).Select(i => Texts[i % 2]));
        File.WriteAllLines(Path.Combine(dir, "in.txt"), [text]);
        var tokenizer = BertTokenizer.FromDirectory(MiniLm.Imported);
        var ids = tokenizer.Encode(text).Ids.ToArray();
        Assert.True(ids.Length > 300, $"{ids.Length} tokens");
        using var ort = OnnxBertSession.Open(MiniLm.OriginalOnnx, TestTorch.OrtThreads);

        var (byDefault, _) = Embed(dir);
        AssertClose(OrtEmbedding(ort, Cut(ids, 256)), byDefault[0], "default");
        var (given, plan) = Embed(dir, "--max-length", "100");
        Assert.Equal("pooling: mean (1_Pooling/config.json), normalize: true (modules.json Normalize)", plan);
        AssertClose(OrtEmbedding(ort, Cut(ids, 100)), given[0], "--max-length 100");
        // Not the other cut: 256 and 100 tokens give different vectors.
        Assert.True(Math.Abs(byDefault[0][0] - given[0][0]) > 1e-4);
    }

    private static string ReadExact(string relative) =>
        Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(MiniLm.Imported, relative))).ReplaceLineEndings("\n");

    /// <summary>[CLS] and the first <paramref name="length"/> - 2 word pieces of the whole text's ids, then its final [SEP].</summary>
    private static int[] Cut(int[] ids, int length) => [.. ids.Take(length - 1), ids[^1]];

    private static (float[][] Vectors, string Plan) Embed(string dir, params string[] extra)
    {
        var output = Path.Combine(dir, "e.jsonl");
        File.Delete(output);
        var r = CliRunner.Run(["embed", "--model", MiniLm.Imported, "--input", Path.Combine(dir, "in.txt"), "--output", output, .. extra]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var vectors = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!["embedding"]!.AsArray().Select(v => (float)v!).ToArray()).ToArray();
        return (vectors, r.StdErr.Trim().Split('\n')[^1].Trim());
    }

    /// <summary>ORT's last_hidden_state for one unpadded input, averaged over its tokens and scaled to unit length.</summary>
    private static double[] OrtEmbedding(OnnxBertSession ort, int[] ids)
    {
        var (hidden, shape) = ort.Run([.. ids.Select(i => (long)i)], [.. ids.Select(_ => 1L)], new long[ids.Length], 1, ids.Length, "last_hidden_state");
        Assert.Equal(new long[] { 1, ids.Length, 384 }, shape);
        var v = new double[384];
        for (var t = 0; t < ids.Length; t++)
        {
            for (var k = 0; k < 384; k++)
            {
                v[k] += hidden[(t * 384) + k] / (double)ids.Length;
            }
        }
        var norm = Math.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / norm)];
    }

    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var diff = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(diff <= 1e-5, $"{what}: max |BertSharp - ORT| {diff:E2}");
    }
}
