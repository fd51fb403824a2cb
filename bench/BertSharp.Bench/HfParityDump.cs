using System.Text.Json;
using BertSharp.Modeling;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Bench;

/// <summary>
/// <c>--hf-parity-dump DIR TINY</c>: the inputs and head outputs BertSharp computes for the checkpoints
/// <c>bench/hf-parity.sh</c> fine-tunes into DIR (and the pre-trained model TINY), written to DIR/bertsharp.json for
/// <c>bench/hf_parity.py</c> to compare with HF transformers on a machine that has it.
/// </summary>
internal static class HfParityDump
{
    public static int Run(string[] args)
    {
        var root = args[1];
        var tiny = args[2];
        var cases = new List<Dictionary<string, object?>>();
        using var noGrad = no_grad();
        Add<BertForPreTraining>(cases, "tiny", tiny, [("the movie was [MASK] .", "i loved it ."), ("a [MASK] film .", null)], (m, i) =>
        {
            var o = m.Forward(i);
            return new() { ["prediction_logits"] = o.PredictionLogits, ["seq_relationship_logits"] = o.SeqRelationshipLogits };
        });
        Add<BertForMaskedLM>(cases, "tiny-mlm", tiny, [("the movie was [MASK] .", null)], (m, i) => new() { ["logits"] = m.Forward(i).Logits });
        (string, string?)[] sentences = [("a gorgeous , witty , seductive movie .", null), ("the plot is nothing but boilerplate clichés", null), ("Ünïcode àccents and CAPS!", null)];
        foreach (var name in new[] { "sst2", "reg" })
        {
            Add<BertForSequenceClassification>(cases, name, Path.Combine(root, name), sentences, (m, i) => new() { ["logits"] = m.Forward(i).Logits });
        }
        Add<BertForTokenClassification>(cases, "ner", Path.Combine(root, "ner"),
            [("John Smith lives in New York and works for Google .", null), ("EU rejects German call", null)], (m, i) => new() { ["logits"] = m.Forward(i).Logits });
        Add<BertForQuestionAnswering>(cases, "squad", Path.Combine(root, "squad"),
            [("Where does John live?", "John Smith lives in New York and works for Google."), ("Who wrote it?", "It was written by Jane Austen in 1813.")], (m, i) =>
            {
                var o = m.Forward(i);
                return new() { ["start_logits"] = o.StartLogits, ["end_logits"] = o.EndLogits };
            });
        // One question with four endings: [1, 4, s].
        Add<BertForMultipleChoice>(cases, "swag", Path.Combine(root, "swag"),
            [("She opened the door", "and walked in."), ("She opened the door", "and ate the moon."), ("She opened the door", "then sat down outside."), ("She opened the door", "quickly.")],
            (m, i) => new() { ["logits"] = m.Forward(new BertInput(i.InputIds.unsqueeze(0), i.AttentionMask!.unsqueeze(0), i.TokenTypeIds!.unsqueeze(0))).Logits });
        var path = Path.Combine(root, "bertsharp.json");
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(cases));
        File.Move(path + ".tmp", path, overwrite: true);
        Console.WriteLine($"{path}: {cases.Count} cases");
        return 0;
    }

    private static void Add<TModel>(List<Dictionary<string, object?>> cases, string name, string dir, (string, string?)[] texts,
        Func<TModel, BertInput, Dictionary<string, Tensor>> run) where TModel : BertPreTrainedModel
    {
        var tokenizer = BertTokenizer.FromDirectory(dir);
        var encodings = tokenizer.EncodeBatch(texts, new EncodeOptions { Padding = PaddingStrategy.Longest });
        long[][] Rows(Func<BertEncoding, int[]> field) => [.. encodings.Select(e => field(e).Select(i => (long)i).ToArray())];
        Tensor Matrix(long[][] rows) => tensor(rows.SelectMany(r => r).ToArray()).reshape(rows.Length, -1);
        var (ids, mask, types) = (Rows(e => e.Ids), Rows(e => e.AttentionMask), Rows(e => e.TypeIds));
        using var scope = NewDisposeScope();
        using var model = BertPretrained.Load<TModel>(dir, out _);
        model.eval();
        var row = new Dictionary<string, object?>
        {
            ["case"] = name, ["head"] = typeof(TModel).Name, ["dir"] = dir,
            ["texts"] = texts.Select(t => new[] { t.Item1, t.Item2 }).ToArray(), ["input_ids"] = ids, ["attention_mask"] = mask, ["token_type_ids"] = types,
        };
        foreach (var (key, value) in run(model, new BertInput(Matrix(ids), Matrix(mask), Matrix(types))))
        {
            row[key] = new Dictionary<string, object> { ["shape"] = value.shape, ["values"] = value.to_type(ScalarType.Float64).data<double>().ToArray() };
        }
        cases.Add(row);
    }
}
