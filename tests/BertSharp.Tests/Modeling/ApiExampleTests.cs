using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Modeling;

/// <summary>The README / docs/api.md example, run end to end on a fixture checkpoint.</summary>
public class ApiExampleTests
{
    [Fact]
    public void Load_tokenize_run_read_outputs_save()
    {
        var dir = HfFixture.Dir("sequence-classification");

        // --- docs/api.md example begins ---
        var tokenizer = BertTokenizer.FromDirectory(dir);
        using var model = BertPretrained.Load<BertForSequenceClassification>(dir, out var report);
        if (report.Warning is { } warning)
        {
            Console.Error.WriteLine(warning);
        }
        model.eval();

        var batch = tokenizer.EncodeBatch([("Us love they.", null), ("a tender , heartfelt family drama . ", null)],
            new EncodeOptions { Padding = PaddingStrategy.Longest });
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = torch.tensor(batch.SelectMany(e => e.Ids.Select(i => (long)i)).ToArray()).reshape(batch.Count, -1);
        var mask = torch.tensor(batch.SelectMany(e => e.AttentionMask.Select(i => (long)i)).ToArray()).reshape(batch.Count, -1);
        var output = model.Forward(new BertInput(ids, mask));
        var probs = output.Logits.softmax(-1);                      // [batch, num_labels]
        var best = probs.argmax(-1).data<long>().ToArray();         // class index per text
        var labels = best.Select(i => model.Config.Id2Label[(int)i]).ToArray();
        // --- docs/api.md example ends ---

        Assert.Equal(2, labels.Length);
        Assert.All(labels, l => Assert.StartsWith("LABEL_", l, StringComparison.Ordinal));
        Assert.True(probs.sum(-1).allclose(ones(2), atol: 1e-6));
        Assert.Equal(new long[] { 2, 64 }, output.Bert.PoolerOutput!.shape);

        // The same texts are rows 1 and 3 of the fixture batch: the logits equal HF's, padding to a different length included.
        var refs = HfFixture.Tensors("sequence-classification");
        try
        {
            HfFixture.AssertClose(refs["out.logits"][1], output.Logits[0], 1e-5, "logits row 1");
            HfFixture.AssertClose(refs["out.logits"][3], output.Logits[1], 1e-5, "logits row 3");
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }

        using var tmp = TestPaths.TempDir();
        BertPretrained.Save(model, tmp.Path, new SaveOptions(Tokenizer: tokenizer));
        Assert.Equal(tokenizer.Encode("Us love they.").Ids, BertTokenizer.FromDirectory(tmp.Path).Encode("Us love they.").Ids);
    }
}
