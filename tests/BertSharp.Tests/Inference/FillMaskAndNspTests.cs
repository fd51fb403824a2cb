using BertSharp.Checkpoints;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Inference;

public class FillMaskAndNspTests
{
    private static readonly string Pretraining = Path.Combine(TestPaths.Fixtures, "hf_bert", "pretraining");

    [Fact]
    public void Fill_mask_scores_are_the_softmax_of_the_models_logits_at_each_mask()
    {
        TorchRuntime.EnsureLoaded();
        using var pipeline = FillMask.Load(Pretraining, "cpu");
        var ids = pipeline.Tokenizer.EncodeIds("the cat [MASK] on the [MASK] .");
        var masks = Enumerable.Range(0, ids.Length).Where(i => ids[i] == pipeline.Tokenizer.MaskId).ToArray();
        Assert.Equal(2, masks.Length);
        var result = pipeline.Predict("the cat [MASK] on the [MASK] .", topK: 4);

        using var model = BertPretrained.Load<BertForPreTraining>(Pretraining);
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.Forward(new BertInput(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]))).PredictionLogits[0];
        Assert.Equal(2, result.Count);
        for (var m = 0; m < 2; m++)
        {
            var probs = logits[masks[m]].softmax(-1).data<float>().ToArray();
            var expected = Enumerable.Range(0, probs.Length).OrderByDescending(i => probs[i]).Take(4).ToArray();
            Assert.Equal(expected, result[m].Select(c => c.TokenId));
            foreach (var c in result[m])
            {
                Assert.Equal(probs[c.TokenId], c.Score, 6);
                Assert.Equal(pipeline.Tokenizer.Vocab[c.TokenId], c.Token);
                // several masks: HF keeps the special tokens and the other mask in the sequence
                Assert.StartsWith("[CLS] the cat ", c.Sequence, StringComparison.Ordinal);
                Assert.Contains("[MASK]", c.Sequence, StringComparison.Ordinal);
            }
        }
        var single = pipeline.Predict("the cat sat on the [MASK] .", topK: 1)[0][0];
        Assert.Equal($"the cat sat on the {single.Token}.", single.Sequence);
    }

    // HF's postprocess drops padding ids before it decodes ("Filter padding out"), so with several masks, where special
    // tokens stay in the sequence, a [PAD] candidate (or a [PAD] typed in the text) is not shown; it was printed as "[PAD]".
    [Fact]
    public void A_pad_candidate_is_left_out_of_the_sequence_as_HF_filters_padding()
    {
        TorchRuntime.EnsureLoaded();
        using var pipeline = FillMask.Load(Pretraining, "cpu");
        var targets = FillMaskTargets.Resolve(pipeline.Tokenizer, ["[PAD]", "cat"]);
        var result = pipeline.Predict("the [PAD] cat [MASK] on the [MASK] .", topK: 2, targets);
        var pad = Assert.Single(result[0], c => c.TokenId == pipeline.Tokenizer.PadId);
        Assert.Equal("[CLS] the cat on the [MASK]. [SEP]", pad.Sequence);
        var cat = Assert.Single(result[0], c => c.Token == "cat");
        Assert.Equal("[CLS] the cat cat on the [MASK]. [SEP]", cat.Sequence);
        var batched = pipeline.PredictBatch(["the [PAD] cat [MASK] on the [MASK] ."], topK: 2, targets: targets)[0];
        Assert.Equal(result[0].Select(c => c.Sequence), batched[0].Select(c => c.Sequence));
    }

    [Fact]
    public void Batched_fill_mask_equals_one_text_at_a_time()
    {
        TorchRuntime.EnsureLoaded();
        using var pipeline = FillMask.Load(Pretraining, "cpu");
        string[] texts =
        [
            "the cat [MASK] on the mat , and then it slept for a very long time in the warm sun .",
            "[MASK] .",
            "the dog [MASK] at the [MASK] .",
            "a [MASK] day",
        ];
        // Batch size 3 puts texts of different lengths together, so the padded rows are exercised.
        var batched = pipeline.PredictBatch(texts, topK: 4, batchSize: 3);
        Assert.Equal(texts.Length, batched.Count);
        for (var t = 0; t < texts.Length; t++)
        {
            var single = pipeline.Predict(texts[t], topK: 4);
            Assert.Equal(single.Count, batched[t].Count);
            for (var m = 0; m < single.Count; m++)
            {
                Assert.Equal(single[m].Select(c => c.TokenId), batched[t][m].Select(c => c.TokenId));
                Assert.Equal(single[m].Select(c => c.Sequence), batched[t][m].Select(c => c.Sequence));
                for (var k = 0; k < single[m].Count; k++)
                {
                    Assert.Equal(single[m][k].Score, batched[t][m][k].Score, 1e-7);
                }
            }
        }
        var bad = Assert.Throws<BertSharpException>(() => pipeline.PredictBatch(["a [MASK] b", "no mask"]));
        Assert.Equal("text 1 has no [MASK] token to fill.", bad.Message);
    }

    [Fact]
    public void Next_sentence_matches_hf_reference_logits()
    {
        TorchRuntime.EnsureLoaded();
        using var pipeline = NextSentence.Load(Pretraining, "cpu");
        var r = pipeline.Predict("The cat sat.", "It was happy.");
        var reference = SafeTensors.Load(Path.Combine(Pretraining, "reference.safetensors"));
        try
        {
            var hf = reference["pair.out.seq_relationship_logits"][0].data<float>().ToArray();
            Assert.Equal(hf[0], r.Logits[0], 1e-6);
            Assert.Equal(hf[1], r.Logits[1], 1e-6);
            var p0 = 1 / (1 + Math.Exp(hf[1] - hf[0]));
            Assert.Equal(p0, r.IsNextProbability, 1e-6);
            Assert.Equal(1, r.IsNextProbability + r.IsRandomProbability, 1e-6);
        }
        finally
        {
            foreach (var t in reference.Values)
            {
                t.Dispose();
            }
        }
    }

    // Below 5 a text of the pair lost its every token: at 3 the head scored [CLS] [SEP] [SEP] as the pair, with exit 0.
    [Fact]
    public void Nsp_refuses_a_length_or_a_text_that_leaves_a_text_of_the_pair_no_token()
    {
        CliRunner.Run("nsp", "--model", Pretraining, "--text", "the cat", "--text-pair", "it", "--max-length", "4", "--device", "cpu")
            .AssertOneLineError("--max-length 4: expected at least 5 for a pair ([CLS], a token of each text, [SEP] twice).");
        using var pipeline = NextSentence.Load(Pretraining, "cpu");
        var e = Assert.Throws<BertSharpException>(() => pipeline.Predict("the cat", "it", maxLength: 3));
        Assert.StartsWith("max_length 3: expected at least 5 for a pair", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, pipeline.Predict("the cat", "it", maxLength: 5).Logits.Length);
        // Multiple choice cuts its (context, choice) pairs alike: at 3 every choice was [CLS] [SEP] [SEP], scored 0.5 each.
        CliRunner.Run("predict", "--model", HfFixture.Dir("multiple-choice"), "--text", "the cat", "--choice", "it sat", "--choice", "it flew", "--max-length", "4")
            .AssertOneLineError("--max-length 4: expected at least 5 for a pair ([CLS], a token of each text, [SEP] twice).");
        // evaluate encoded them with SwagData.Encode, unchecked, and wrote the metrics of [CLS] [SEP] [SEP] per choice.
        using var tmp = TestPaths.TempDir();
        CliRunner.Run("evaluate", "--model", HfFixture.Dir("multiple-choice"), "--data", Path.Combine(TestPaths.RepoRoot, "samples", "swag", "dev.csv"),
            "--max-length", "4", "--max-examples", "1", "--output", tmp.File("m.json"))
            .AssertOneLineError("--max-length 4: expected at least 5 for a pair ([CLS], a token of each text, [SEP] twice).");
        Assert.False(File.Exists(tmp.File("m.json")));
        // Fine-tuning encoded its training choices the same way and trained the head on [CLS] [SEP] [SEP]: refused before the run.
        CliRunner.Run("finetune", "--task", "swag", "--data", Path.Combine(TestPaths.RepoRoot, "samples", "swag", "train.csv"),
            "--model", HfFixture.Dir("multiple-choice"), "--output", tmp.File("run"), "--epochs", "1", "--max-length", "4")
            .AssertOneLineError("--max-length 4: expected at least 5 for a pair ([CLS], a token of each text, [SEP] twice).");
        Assert.False(Directory.Exists(tmp.File("run")));
        // A text without a token scored [CLS] [SEP] [SEP] the same way, at any length.
        e = Assert.Throws<BertSharpException>(() => pipeline.Predict("", "it"));
        Assert.Equal("text: empty or white space only; expected text.", e.Message);
        e = Assert.Throws<BertSharpException>(() => pipeline.Predict("the cat", "\u200b\u0007"));
        Assert.Equal("text_pair: no word pieces (only characters the tokenizer drops, such as control or zero-width ones); expected text.", e.Message);
    }

    [Fact]
    public void Cli_fill_mask_and_nsp_print_results_and_reject_bad_input()
    {
        var ok = CliRunner.Run("fill-mask", "--model", Pretraining, "--text", "the cat was [MASK] .", "--top-k", "3", "--device", "cpu");
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        var lines = ok.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The pipeline's candidates, whose scores the first test checks against the model's softmax: best first, each with
        // its score, token and filled-in text.
        using (var pipeline = FillMask.Load(Pretraining, "cpu"))
        {
            var expected = pipeline.Predict("the cat was [MASK] .", topK: 3)[0];
            Assert.Equal(expected.Count, lines.Length);
            for (var k = 0; k < lines.Length; k++)
            {
                var fields = lines[k].Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal(expected[k].Score, double.Parse(fields[0], System.Globalization.CultureInfo.InvariantCulture), 0.0001);
                Assert.Equal((expected[k].Token, expected[k].Sequence), (fields[1], fields[2].Trim()));
                Assert.StartsWith("the cat was", expected[k].Sequence, StringComparison.Ordinal);
            }
        }

        var noMask = CliRunner.Run("fill-mask", "--model", Pretraining, "--text", "no mask here", "--device", "cpu");
        Assert.Equal(2, noMask.ExitCode);
        Assert.Contains("no [MASK] token", noMask.StdErr, StringComparison.Ordinal);

        CliRunner.Run("fill-mask", "--model", Pretraining, "--text", "the cat [MASK] .", "--top-k", "513", "--device", "cpu")
            .AssertOneLineError("--top-k 513: expected at most the vocabulary size (512) without --target.");

        // Every token of a vocabulary whose token 2 holds an escape: it is shown as data, where it drove the terminal.
        using (var tmp = TestPaths.TempDir())
        {
            HfFixture.CopyCase("pretraining", tmp.Path, f => f is "config.json" or "model.safetensors" or "vocab.txt" or "tokenizer_config.json" or "special_tokens_map.json");
            var vocab = File.ReadAllLines(tmp.File("vocab.txt"));
            vocab[2] = "x\u001b[31m";
            File.WriteAllLines(tmp.File("vocab.txt"), vocab);
            var all = CliRunner.Run("fill-mask", "--model", tmp.Path, "--text", "the cat [MASK] .", "--top-k", "512", "--device", "cpu");
            Assert.True(all.ExitCode == 0, all.StdErr);
            Assert.DoesNotContain('\u001b', all.StdOut);
            Assert.Contains(all.StdOut.Split('\n'), l => l.Contains("  x\\x1b[31m ", StringComparison.Ordinal));
        }

        var baseModel = Path.Combine(TestPaths.Fixtures, "hf_bert", "base-model");
        var noHead = CliRunner.Run("fill-mask", "--model", baseModel, "--text", "a [MASK]", "--device", "cpu");
        Assert.Equal(2, noHead.ExitCode);
        // The library speaks of the head, not of a command that needs it (it said "fill-mask needs …", "nsp needs …").
        Assert.Contains("no masked-LM head (cls.predictions.*): it is not a pre-trained or masked-LM model — ", noHead.StdErr, StringComparison.Ordinal);
        Assert.Contains("no next-sentence head (cls.seq_relationship.* and the pooler): it is not a model pre-trained with next-sentence prediction — ",
            Assert.Throws<BertSharpException>(() => NextSentence.Load(baseModel, "cpu")).Message, StringComparison.Ordinal);

        var nsp = CliRunner.Run("nsp", "--model", Pretraining, "--text", "The cat sat.", "--text-pair", "It was happy.", "--device", "cpu");
        Assert.True(nsp.ExitCode == 0, nsp.StdErr);
        // HF's logits for this pair (the pretraining case's reference): is_next is the softmax of the first.
        var reference = SafeTensors.Load(Path.Combine(Pretraining, "reference.safetensors"));
        double isNext;
        try
        {
            var hf = reference["pair.out.seq_relationship_logits"][0].data<float>().ToArray();
            isNext = 1 / (1 + Math.Exp(hf[1] - hf[0]));
        }
        finally
        {
            HfFixture.DisposeAll(reference);
        }
        var shown = nsp.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, shown.Length);
        Assert.Equal(("is_next", "not_next"), (shown[0].Split(' ')[0], shown[1].Split(' ')[0]));
        Assert.Equal(isNext, double.Parse(shown[0]["is_next".Length..], System.Globalization.CultureInfo.InvariantCulture), 0.0001);
        Assert.Equal(1 - isNext, double.Parse(shown[1]["not_next".Length..], System.Globalization.CultureInfo.InvariantCulture), 0.0001);
        Assert.Equal(isNext > 0.5 ? "prediction: B follows A" : "prediction: B does not follow A", shown[2]);
    }
}
