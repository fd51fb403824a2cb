using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Server;
using static TorchSharp.torch;

namespace BertSharp.Tests.Inference;

/// <summary>
/// HF's fill-mask <c>targets</c>: the softmax over the whole vocabulary at each mask, of which only the targets' entries are
/// ranked; a word that is not one vocabulary token is scored by its first word piece, with a warning.
/// </summary>
public sealed class FillMaskTargetsTests
{
    private static readonly string Pretraining = Path.Combine(TestPaths.Fixtures, "hf_bert", "pretraining");
    private const string Text = "the cat [MASK] on the [MASK] .";

    // The reference: the whole vocabulary's probabilities at each mask, from the model's full logits (not LogitsAt).
    private static float[][] FullVocabularyProbabilities(BertTokenizer tokenizer, string text)
    {
        var ids = tokenizer.EncodeIds(text);
        using var model = BertPretrained.Load<BertForPreTraining>(Pretraining);
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.Forward(new BertInput(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]))).PredictionLogits[0];
        return [.. Enumerable.Range(0, ids.Length).Where(i => ids[i] == tokenizer.MaskId).Select(p => logits[p].softmax(-1).data<float>().ToArray())];
    }

    [Fact]
    public void Targets_keep_their_whole_vocabulary_probabilities_best_first_and_top_k_cuts_them()
    {
        TorchRuntime.EnsureLoaded();
        using var pipeline = FillMask.Load(Pretraining, "cpu");
        var vocab = pipeline.Tokenizer.Vocab;
        string[] words = ["dog", "cat", "happy", "box", "sat"];
        var targets = FillMaskTargets.Resolve(pipeline.Tokenizer, words);
        Assert.Equal(words.Select(w => vocab[w]), targets.TokenIds);
        Assert.Empty(targets.Warnings);
        var probs = FullVocabularyProbabilities(pipeline.Tokenizer, Text);

        var all = pipeline.Predict(Text, topK: 50, targets: targets);
        var three = pipeline.Predict(Text, topK: 3, targets: targets);
        Assert.Equal(2, all.Count);
        for (var m = 0; m < 2; m++)
        {
            // top_k 50 over five targets gives the five, ordered by their probability over the whole vocabulary.
            var expected = words.Select(w => vocab[w]).OrderByDescending(id => probs[m][id]).ToArray();
            Assert.Equal(expected, all[m].Select(c => c.TokenId));
            foreach (var c in all[m])
            {
                Assert.Equal(probs[m][c.TokenId], c.Score, 6);
                Assert.Equal(vocab[c.TokenId], c.Token);
            }
            Assert.Equal(expected.Take(3), three[m].Select(c => c.TokenId));
            // Not renormalised over the targets: they share far less than the whole mass on a 512-token vocabulary.
            Assert.True(all[m].Sum(c => c.Score) < 0.5);
        }
        var single = pipeline.Predict("the cat sat on the [MASK] .", topK: 1, targets: targets)[0][0];
        Assert.Equal($"the cat sat on the {single.Token}.", single.Sequence);

        // The batch path ranks the same targets for every text.
        var batched = pipeline.PredictBatch([Text, "a [MASK] day"], topK: 4, batchSize: 2, targets: targets);
        Assert.Equal(three[0].Select(c => c.TokenId), batched[0][0].Select(c => c.TokenId).Take(3));
        Assert.Equal(pipeline.Predict("a [MASK] day", topK: 4, targets: targets)[0].Select(c => c.TokenId), batched[1][0].Select(c => c.TokenId));
    }

    [Fact]
    public void A_word_that_is_not_one_token_is_scored_by_its_first_piece_with_one_warning_and_duplicates_count_once()
    {
        TorchRuntime.EnsureLoaded();
        using var pipeline = FillMask.Load(Pretraining, "cpu");
        var vocab = pipeline.Tokenizer.Vocab;
        Assert.Equal(new[] { "cat", "##s" }, pipeline.Tokenizer.Tokenize("cats"));
        var targets = FillMaskTargets.Resolve(pipeline.Tokenizer, ["cats", "dog", "cat", "dog", "Happy"]);
        Assert.Equal(new[] { vocab["cat"], vocab["dog"], vocab["happy"] }, targets.TokenIds);
        Assert.Equal(new[]
        {
            "target 'cats' is not a token of the model's vocabulary; its first word piece 'cat' (of cat ##s) is scored instead, as HF's fill-mask pipeline does.",
            "target 'Happy' is not a token of the model's vocabulary; its word piece 'happy' is scored instead, as HF's fill-mask pipeline does.",
        }, targets.Warnings);
        var result = pipeline.Predict(Text, topK: 5, targets: targets);
        Assert.All(result, m => Assert.Equal(3, m.Count));

        var blank = Assert.Throws<BertSharpException>(() => FillMaskTargets.Resolve(pipeline.Tokenizer, ["dog", " "]));
        Assert.Equal("targets[1]: empty or white space only; expected a word with at least one word piece, such as a token of the model's vocabulary.", blank.Message);
        var none = Assert.Throws<BertSharpException>(() => FillMaskTargets.Resolve(pipeline.Tokenizer, []));
        Assert.Equal("targets: expected at least one word when given.", none.Message);
    }

    // HF's get_target_ids: a target the tokenizer keeps nothing of is skipped with a warning ("We cannot replace it with
    // anything meaningful, ignoring it"), and only when none remains is it an error ("At least one target must be provided
    // when passed."). It was refused, though the other targets could be ranked.
    [Fact]
    public void A_target_without_word_pieces_is_skipped_with_a_warning_and_top_k_is_capped_at_the_rest()
    {
        TorchRuntime.EnsureLoaded();
        using var pipeline = FillMask.Load(Pretraining, "cpu");
        var vocab = pipeline.Tokenizer.Vocab;
        Assert.Empty(pipeline.Tokenizer.Tokenize("\u200b\u0001"));
        var targets = FillMaskTargets.Resolve(pipeline.Tokenizer, ["dog", "\u200b\u0001", "cat"]);
        Assert.Equal(new[] { vocab["dog"], vocab["cat"] }, targets.TokenIds);
        Assert.Equal("targets[1] ('\u200b\u0001') has no word piece (only characters the tokenizer drops, such as control or zero-width ones); it is skipped, as HF's fill-mask pipeline skips it.",
            Assert.Single(targets.Warnings));
        // top_k 5 over two targets gives the two (HF: "if top_k > target_ids.shape[0]: top_k = target_ids.shape[0]"), as the
        // two targets given alone rank them.
        var alone = pipeline.Predict(Text, 2, FillMaskTargets.Resolve(pipeline.Tokenizer, ["dog", "cat"]));
        var skipped = pipeline.Predict(Text, 5, targets);
        Assert.Equal(alone.Select(m => m.Select(c => (c.Token, c.Score))), skipped.Select(m => m.Select(c => (c.Token, c.Score))));
        Assert.All(skipped, m => Assert.Equal(2, m.Count));

        var none = Assert.Throws<BertSharpException>(() => FillMaskTargets.Resolve(pipeline.Tokenizer, ["\u200b", "\u0007"]));
        Assert.Equal("targets: none of the 2 target(s) has a word piece (only characters the tokenizer drops); expected at least one word such as a token of the model's vocabulary.", none.Message);
    }

    // Targets built by hand (or resolved on another vocabulary) are checked against this model before the forward pass.
    [Fact]
    public void Token_ids_outside_the_models_vocabulary_or_none_at_all_are_refused()
    {
        TorchRuntime.EnsureLoaded();
        using var pipeline = FillMask.Load(Pretraining, "cpu");
        var foreign = Assert.Throws<BertSharpException>(() => pipeline.Predict(Text, 5, new FillMaskTargets([5, 512], [])));
        Assert.Equal("targets token id 512: expected an id of the model's vocabulary (0-511).", foreign.Message);
        var empty = Assert.Throws<BertSharpException>(() => pipeline.PredictBatch([Text], 5, targets: new FillMaskTargets([], [])));
        Assert.Equal("targets: expected at least one token id when given.", empty.Message);
    }

    [Fact]
    public void The_cli_ranks_repeated_targets_and_warns_once_per_replaced_word()
    {
        var r = CliRunner.Run("fill-mask", "--model", Pretraining, "--text", "the [MASK] sat .", "--target", "cats", "--target", "dog",
            "--target", "cat", "--top-k", "10", "--device", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal("warning: target 'cats' is not a token of the model's vocabulary; its first word piece 'cat' (of cat ##s) is scored instead, as HF's fill-mask pipeline does.\n",
            r.StdErr.ReplaceLineEndings("\n"));
        using var pipeline = FillMask.Load(Pretraining, "cpu");
        var expected = pipeline.Predict("the [MASK] sat .", 10, FillMaskTargets.Resolve(pipeline.Tokenizer, ["dog", "cat"]))[0];
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Select(c => c.Token), lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]));
        Assert.Equal(2, lines.Length);

        // A blank target is the library's refusal, by its index, not the parser's generic one for an empty value.
        CliRunner.Run("fill-mask", "--model", Pretraining, "--text", "the [MASK] sat .", "--target", "dog", "--target", " ", "--device", "cpu")
            .AssertOneLineError("error: --target[1]: empty or white space only; expected a word with at least one word piece, such as a token of the model's vocabulary.");
        CliRunner.Run("fill-mask", "--model", Pretraining, "--text", "the [MASK] sat .", "--target", "\u0001", "--device", "cpu")
            .AssertOneLineError("error: --target: none of the 1 target(s) has a word piece (only characters the tokenizer drops); expected at least one word such as a token of the model's vocabulary.");
        // Skipped with a warning, as HF skips it, when another target remains; named by the flag, as the blank target's error.
        r = CliRunner.Run("fill-mask", "--model", Pretraining, "--text", "the [MASK] sat .", "--target", "\u0001", "--target", "dog", "--device", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal("warning: --target[0] ('\\x01') has no word piece (only characters the tokenizer drops, such as control or zero-width ones); it is skipped, as HF's fill-mask pipeline skips it.\n",
            r.StdErr.ReplaceLineEndings("\n"));
        Assert.Equal("dog", Assert.Single(r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    [Fact]
    public async Task The_server_ranks_each_requests_own_targets_and_returns_the_warnings()
    {
        // A window wide enough that the concurrent requests share a micro-batch with different targets.
        await using var host = await ServerHost.Start("masked-lm", o => o with { BatchWindow = TimeSpan.FromMilliseconds(200) });
        using var pipeline = FillMask.Load(host.ModelDirectory, "cpu");
        var posts = new[]
        {
            host.Post("/v1/fill-mask", new { text = Text, targets = new[] { "dog", "cats" }, top_k = 5 }),
            host.Post("/v1/fill-mask", new { text = Text, targets = new[] { "happy", "box", "sat" }, top_k = 2 }),
            host.Post("/v1/fill-mask", new { text = Text, top_k = 3 }),
        };
        var answers = await Task.WhenAll(posts);
        Assert.All(answers, a => Assert.Equal(200, a.Status));
        FillMaskTargets?[] targets = [FillMaskTargets.Resolve(pipeline.Tokenizer, ["dog", "cats"]), FillMaskTargets.Resolve(pipeline.Tokenizer, ["happy", "box", "sat"]), null];
        int[] topK = [5, 2, 3];
        for (var r = 0; r < 3; r++)
        {
            var expected = pipeline.Predict(Text, topK[r], targets[r]);
            var masks = answers[r].Body!["masks"]!.AsArray();
            Assert.Equal(2, masks.Count);
            for (var m = 0; m < 2; m++)
            {
                Assert.Equal(expected[m].Select(c => c.TokenId), masks[m]!.AsArray().Select(c => (int)c!["token_id"]!));
                Assert.Equal(expected[m].Select(c => c.Score), masks[m]!.AsArray().Select(c => (double)c!["score"]!), (a, b) => Math.Abs(a - b) < 1e-6);
            }
        }
        Assert.Equal(new[] { "target 'cats' is not a token of the model's vocabulary; its first word piece 'cat' (of cat ##s) is scored instead, as HF's fill-mask pipeline does." },
            answers[0].Body!["warnings"]!.AsArray().Select(w => (string)w!));
        Assert.Null(answers[1].Body!["warnings"]);

        var (status, body) = await host.Post("/v1/fill-mask", new { text = Text, targets = Array.Empty<string>() });
        Assert.Equal((400, "'targets' must not be empty."), (status, (string)body!["error"]!));
        (status, body) = await host.Post("/v1/fill-mask", new { text = Text, targets = new[] { "dog", " " } });
        Assert.Equal((400, "'targets[1]' must not be empty."), (status, (string)body!["error"]!));
    }

    // HF caps top_k at the targets' number before anything reads it and skips a target without word pieces: the server
    // refused a top_k over its limit of 50 that two targets cap at 2 (400), and a zero-width target beside good ones (422).
    [Fact]
    public async Task The_server_caps_top_k_at_the_targets_and_skips_a_target_without_word_pieces()
    {
        await using var host = await ServerHost.Start("masked-lm");
        using var pipeline = FillMask.Load(host.ModelDirectory, "cpu");
        var expected = pipeline.Predict(Text, 2, FillMaskTargets.Resolve(pipeline.Tokenizer, ["dog", "cat"]));
        var (status, body) = await host.Post("/v1/fill-mask", new { text = Text, targets = new[] { "dog", "\u200b", "cat" }, top_k = 1000 });
        Assert.True(status == 200, body?.ToJsonString());
        var masks = body!["masks"]!.AsArray();
        Assert.Equal(expected.Select(m => m.Select(c => c.TokenId)), masks.Select(m => m!.AsArray().Select(c => (int)c!["token_id"]!)));
        Assert.Equal(["targets[1] ('\u200b') has no word piece (only characters the tokenizer drops, such as control or zero-width ones); it is skipped, as HF's fill-mask pipeline skips it."],
            body["warnings"]!.AsArray().Select(w => (string)w!));

        // Below 1, or over the limit without targets to cap it, top_k is still refused.
        (status, body) = await host.Post("/v1/fill-mask", new { text = Text, targets = new[] { "dog" }, top_k = 0 });
        Assert.Equal((400, "'top_k' must be between 1 and 50; got 0."), (status, (string)body!["error"]!));
        (status, body) = await host.Post("/v1/fill-mask", new { text = Text, top_k = 51 });
        Assert.Equal((400, "'top_k' must be between 1 and 50; got 51."), (status, (string)body!["error"]!));
        // No target left: HF's "At least one target must be provided when passed."
        (status, body) = await host.Post("/v1/fill-mask", new { text = Text, targets = new[] { "\u200b", "\u0007" } });
        Assert.Equal((422, "targets: none of the 2 target(s) has a word piece (only characters the tokenizer drops); expected at least one word such as a token of the model's vocabulary."),
            (status, (string)body!["error"]!));
    }

    // HF: "if top_k > target_ids.shape[0]: top_k = target_ids.shape[0]", before and whatever the vocabulary's size: a top_k
    // over the 512-token vocabulary with two targets gives the two; without targets it stays refused, naming the limit.
    [Fact]
    public void A_top_k_beyond_the_vocabulary_with_targets_gives_all_of_them()
    {
        TorchRuntime.EnsureLoaded();
        using var pipeline = FillMask.Load(Pretraining, "cpu");
        var vocab = pipeline.Model.Config.VocabSize;
        var targets = FillMaskTargets.Resolve(pipeline.Tokenizer, ["dog", "cat"]);
        var probs = FullVocabularyProbabilities(pipeline.Tokenizer, Text);
        var result = pipeline.Predict(Text, topK: vocab + 1, targets: targets);
        for (var m = 0; m < 2; m++)
        {
            Assert.Equal(new[] { "dog", "cat" }.Select(w => pipeline.Tokenizer.Vocab[w]).OrderByDescending(id => probs[m][id]), result[m].Select(c => c.TokenId));
        }
        Assert.Equal(2, pipeline.PredictBatch([Text], vocab * 10, targets: targets)[0][1].Count);
        var e = Assert.Throws<BertSharpException>(() => pipeline.Predict(Text, vocab + 1));
        Assert.Equal($"top_k {vocab + 1}: expected at most the vocabulary size ({vocab}) without targets.", e.Message);

        var r = CliRunner.Run("fill-mask", "--model", Pretraining, "--text", "the [MASK] sat .", "--target", "dog", "--target", "cat", "--top-k", "1000", "--device", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(new[] { "cat", "dog" }, r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]).Order(StringComparer.Ordinal));
    }

    // HF: "if isinstance(targets, str): targets = [targets]". Anything but a string or an array of strings is refused in one
    // line naming the field; null entries are refused by index, as in 'texts'.
    [Fact]
    public async Task The_server_takes_one_target_as_a_string_and_refuses_other_shapes()
    {
        await using var host = await ServerHost.Start("masked-lm");
        var (status, body) = await host.Post("/v1/fill-mask", new { text = Text, targets = "dog", top_k = 50 });
        Assert.Equal(200, status);
        var (listStatus, listBody) = await host.Post("/v1/fill-mask", new { text = Text, targets = new[] { "dog" }, top_k = 50 });
        Assert.Equal(200, listStatus);
        Assert.Equal(listBody!["masks"]!.ToJsonString(), body!["masks"]!.ToJsonString());
        Assert.All(body["masks"]!.AsArray(), m => Assert.Equal("dog", (string)Assert.Single(m!.AsArray())!["token"]!));
        // As a string, a word that is not one token still warns.
        (status, body) = await host.Post("/v1/fill-mask", new { text = Text, targets = "cats" });
        Assert.Equal(200, status);
        Assert.Single(body!["warnings"]!.AsArray());

        foreach (var (targets, expected) in new[]
        {
            ("5", "targets: expected a string or an array of strings."),
            ("true", "targets: expected a string or an array of strings."),
            ("""{"word": "dog"}""", "targets: expected a string or an array of strings."),
            ("""["dog", 7]""", "targets: expected a string or an array of strings."),
            ("""["dog", ["cat"]]""", "targets: expected a string or an array of strings."),
            ("""["dog", null]""", "'targets[1]' is required: a non-empty string."),
            // A lone string is the targets, not their entry 0.
            ("\" \"", "'targets' must not be empty."),
            ("""[" "]""", "'targets[0]' must not be empty."),
            ("[]", "'targets' must not be empty."),
        })
        {
            (status, body) = await host.Post("/v1/fill-mask", $$"""{"text": "{{Text}}", "targets": {{targets}}}""");
            Assert.Equal((400, expected), (status, (string)body!["error"]!));
        }
        // null is not given, as for every optional field: the whole vocabulary is ranked.
        (status, body) = await host.Post("/v1/fill-mask", $$"""{"text": "{{Text}}", "targets": null, "top_k": 7}""");
        Assert.Equal(200, status);
        Assert.All(body!["masks"]!.AsArray(), m => Assert.Equal(7, m!.AsArray().Count));
    }

    // top_k counts as the targets' number in the masks × top_k limit: two targets at top_k 50 answer 2 candidates per mask.
    [Fact]
    public async Task The_candidate_limit_counts_top_k_as_at_most_the_targets()
    {
        await using var host = await ServerHost.Start("masked-lm", o => o with { MaxFillMaskCandidates = 4 });
        var (status, body) = await host.Post("/v1/fill-mask", new { text = "[MASK] [MASK]", top_k = 50, targets = new[] { "dog", "cat" } });
        Assert.Equal(200, status);
        Assert.All(body!["masks"]!.AsArray(), m => Assert.Equal(2, m!.AsArray().Count));
        (status, _) = await host.Post("/v1/fill-mask", new { text = "[MASK] [MASK]", top_k = 50, targets = new[] { "dog", "cat", "box" } });
        Assert.Equal(422, status);
    }
}
