using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tokenization;
using BertSharp.Tests.Modeling;
using TorchSharp;

namespace BertSharp.Tests.Inference;

public sealed class QuestionAnsweringTests
{
    private const string Case = "question-answering";

    [Fact]
    public void Window_logits_equal_HF_reference()
    {
        var rows = InferenceFixtures.Rows(Case);
        var reference = HfFixture.Tensors(Case);
        using var pipe = QuestionAnswering.Load(HfFixture.Dir(Case));
        var windows = pipe.Windows([.. rows.Select(r => (r.Text, r.Pair!))], new QuestionAnsweringOptions(BatchSize: 3));
        for (var i = 0; i < rows.Count; i++)
        {
            var w = Assert.Single(windows[i]);
            InferenceFixtures.AssertClose(InferenceFixtures.Slice(reference["out.start_logits"], i, rows[i].Length), w.StartLogits, 1e-5, $"start {i}");
            InferenceFixtures.AssertClose(InferenceFixtures.Slice(reference["out.end_logits"], i, rows[i].Length), w.EndLogits, 1e-5, $"end {i}");
        }
        HfFixture.DisposeAll(reference);
    }

    // Brute force over HF's logits: every context span of at most 15 tokens, score softmax(start)[s] * softmax(end)[e] where
    // the softmax runs over [CLS] and the context only, its characters widened to whole words (HF's align_to_words: here a
    // word is a run of letters and digits, as BERT's pre-tokenizer cuts them) and each text kept once at its best score; the
    // pipeline's top-3 must be the same texts with the same scores.
    [Fact]
    public void Answers_are_the_best_spans_of_HF_logits()
    {
        var rows = InferenceFixtures.Rows(Case);
        var reference = HfFixture.Tensors(Case);
        using var pipe = QuestionAnswering.Load(HfFixture.Dir(Case));
        var answers = pipe.Answer([.. rows.Select(r => (r.Text, r.Pair!))], new QuestionAnsweringOptions(TopK: 3));
        for (var i = 0; i < rows.Count; i++)
        {
            var enc = pipe.Tokenizer.Encode(rows[i].Text, rows[i].Pair);
            var start = InferenceFixtures.Slice(reference["out.start_logits"], i, rows[i].Length);
            var end = InferenceFixtures.Slice(reference["out.end_logits"], i, rows[i].Length);
            var context = Enumerable.Range(0, enc.Length).Where(t => enc.TypeIds[t] == 1 && enc.SpecialTokensMask[t] == 0).ToArray();
            double Z(float[] l) => Math.Exp(l[0]) + context.Sum(t => Math.Exp(l[t]));
            double zs = Z(start), ze = Z(end);
            var expected = (from s in context
                            from e in context
                            where e >= s && e - s < 15
                            let score = Math.Exp(start[s]) / zs * (Math.Exp(end[e]) / ze)
                            group score by WholeWords(rows[i].Pair!, enc.Utf16Offsets[s].Start, enc.Utf16Offsets[e].End) into text
                            let best = text.Max()
                            orderby best descending
                            select (Text: rows[i].Pair![text.Key.Start..text.Key.End], Score: best)).Take(3).ToList();
            Assert.Equal(expected.Select(x => x.Text), answers[i].Select(a => a.Answer));
            for (var k = 0; k < 3; k++)
            {
                Assert.Equal(expected[k].Score, answers[i][k].Score, 1e-6);
                Assert.Equal(answers[i][k].Answer, rows[i].Pair![answers[i][k].Start..answers[i][k].End]);
            }
        }
        HfFixture.DisposeAll(reference);
    }

    private static (int Start, int End) WholeWords(string text, int start, int end)
    {
        while (start > 0 && char.IsLetterOrDigit(text[start]) && char.IsLetterOrDigit(text[start - 1]))
        {
            start--;
        }
        while (end < text.Length && char.IsLetterOrDigit(text[end - 1]) && char.IsLetterOrDigit(text[end]))
        {
            end++;
        }
        return (start, end);
    }

    // HF's align_to_words: "Lieberman" is lie ##berman, so a span from ##berman to ##berman is the whole word, characters 2-11
    // of the context; one from "a" to "lie" ends where "Lieberman" does, and a one-piece word keeps its own characters.
    [Fact]
    public void An_answer_inside_a_word_is_widened_to_the_whole_word_as_HF_aligns_it()
    {
        var tokenizer = BertTokenizer.FromDirectory(HfFixture.Dir(Case));
        const string context = "A Lieberman aide said";
        var enc = tokenizer.Encode("who?", context);
        var berman = Array.IndexOf(enc.Tokens, "##berman");
        Assert.Equal(["a", "lie", "##berman", "aide"], enc.Tokens[(berman - 2)..(berman + 2)]);
        Assert.Equal((2, 11), QaWindowing.WordSpan(enc, berman, berman));
        Assert.Equal((0, 11), QaWindowing.WordSpan(enc, berman - 2, berman - 1));
        Assert.Equal((12, 16), QaWindowing.WordSpan(enc, berman + 1, berman + 1));
    }

    [Fact]
    public void An_empty_question_or_context_or_one_without_word_pieces_is_refused_naming_it_and_its_place_in_the_batch()
    {
        using var pipe = QuestionAnswering.Load(HfFixture.Dir(Case));
        const string context = "The cat sat on the mat.";
        var e = Assert.Throws<ArgumentException>(() => pipe.Answer([("where?", context), ("who?", "")]));
        Assert.Equal("inputs", e.ParamName);
        Assert.StartsWith("inputs[1]: the context is empty or whitespace only; expected text.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => pipe.Answer([(" \t", context)]));
        Assert.StartsWith("inputs[0]: the question is empty or whitespace only; expected text.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => pipe.Windows([("where?", context), ("where?", context), ("", "")]));
        Assert.StartsWith("inputs[2]: the question is empty", e.Message, StringComparison.Ordinal);
        // Past the blank check, a text of only characters the tokenizer drops gave windows without it: no answer, exit 0.
        var none = Assert.Throws<BertSharpException>(() => pipe.Answer([("where?", context), ("who?", "\u200b\u0007")]));
        Assert.Equal("inputs[1] context: no word pieces (only characters the tokenizer drops, such as control or zero-width ones); expected text.", none.Message);
        none = Assert.Throws<BertSharpException>(() => pipe.Windows([("\u200b", context)]));
        Assert.StartsWith("inputs[0] question: no word pieces", none.Message, StringComparison.Ordinal);
        Assert.Single(pipe.Answer([("where?", context)])[0]);
    }

    // A QA model whose answer is known by construction. Attention-output and FFN-output projections are zero, so every layer
    // is LayerNorm(x + 0) = x; position and segment embeddings are zero and LayerNorms are the identity on zero-mean, unit-
    // variance vectors. The hidden state of a token is then its word embedding. All words get pattern q = (1,1,-1,-1,…), only
    // "television" gets p = (1,-1,1,-1,…), orthogonal to q; qa_outputs projects on p for both start and end. Hence start and
    // end logits are 64 on "television" and 0 on every other token: the answer must be that word wherever it is.
    [Fact]
    public void Answer_in_the_last_window_of_a_context_three_times_longer_than_the_window_is_found()
    {
        var tokenizer = BertTokenizer.FromDirectory(HfFixture.Dir(Case));
        var target = tokenizer.Vocab["television"];
        using var model = ModelAnswering(target);
        using var pipe = new QuestionAnswering(model, tokenizer);
        var context = string.Concat(Enumerable.Repeat("the cat sat . ", 25)) + "it was television .";
        const string question = "what was it ?";
        var options = new QuestionAnsweringOptions(MaxLength: 32, DocStride: 8, TopK: 2);
        Assert.True(tokenizer.CountTokens(context) > 3 * 32, "the context must be over three windows long");

        var windows = pipe.Windows([(question, context)], options)[0];
        Assert.True(windows.Count > 3);
        Assert.All(windows.SkipLast(1), w => Assert.DoesNotContain(target, w.Encoding.Ids));
        Assert.Contains(target, windows[^1].Encoding.Ids);
        Assert.All(windows, w => Assert.True(w.Encoding.Length <= 32));

        var best = pipe.Answer([(question, context)], options)[0][0];
        Assert.Equal("television", best.Answer);
        Assert.Equal(context.LastIndexOf("television", StringComparison.Ordinal), best.Start);
        Assert.True(best.Score > 0.99, $"score {best.Score}");
    }

    // Start and end logits 64 on both pieces of "Lieberman" (lie ##berman): the window's three best spans (lie-lie,
    // lie-##berman, ##berman-##berman, 0.25 each) all widen to the one word. top_k 3 answered "Lieberman" alone, as the
    // copies were dropped after each window's three best spans were taken; the next distinct spans must fill top_k. The
    // reference is the brute force of the test on HF's logits: every span of at most 15 context tokens, widened to whole
    // words, each text at its best score.
    [Fact]
    public void Spans_widened_to_one_word_leave_room_for_the_next_distinct_answers()
    {
        var tokenizer = BertTokenizer.FromDirectory(HfFixture.Dir(Case));
        using var model = ModelAnswering(tokenizer.Vocab["lie"], tokenizer.Vocab["##berman"]);
        using var pipe = new QuestionAnswering(model, tokenizer);
        const string question = "who said it ?";
        const string context = "it was said by a Lieberman aide .";
        var window = Assert.Single(pipe.Windows([(question, context)])[0]);
        var enc = window.Encoding;
        var tokens = Enumerable.Range(0, enc.Length).Where(t => enc.TypeIds[t] == 1 && enc.SpecialTokensMask[t] == 0).ToArray();
        double Z(float[] l) => Math.Exp(l[0]) + tokens.Sum(t => Math.Exp(l[t]));
        double zs = Z(window.StartLogits), ze = Z(window.EndLogits);
        var expected = (from s in tokens
                        from e in tokens
                        where e >= s && e - s < 15
                        let score = Math.Exp(window.StartLogits[s]) / zs * (Math.Exp(window.EndLogits[e]) / ze)
                        group score by WholeWords(context, enc.Utf16Offsets[s].Start, enc.Utf16Offsets[e].End) into text
                        select (Text: context[text.Key.Start..text.Key.End], Score: text.Max())).ToList();

        var answers = pipe.Answer([(question, context)], new QuestionAnsweringOptions(TopK: 3))[0];

        Assert.Equal(3, answers.Count);
        Assert.Equal(("Lieberman", 17, 26), (answers[0].Answer, answers[0].Start, answers[0].End));
        Assert.Equal(0.25, answers[0].Score, 1e-6);
        Assert.Equal(3, answers.Select(a => a.Answer).Distinct().Count());
        var ranked = expected.OrderByDescending(x => x.Score).ToList();
        for (var k = 0; k < 3; k++)
        {
            // Several spans tie below the best one (an end or start on "lie" / "##berman" and the other on a plain token):
            // each answer must be one of the texts of the k-th best score, at that score.
            Assert.True(Math.Abs(answers[k].Score - ranked[k].Score) <= 1e-6 * ranked[k].Score, $"answer {k}: {answers[k].Score} against {ranked[k].Score}");
            Assert.Contains(answers[k].Answer, expected.Where(x => Math.Abs(x.Score - answers[k].Score) <= 1e-6 * x.Score).Select(x => x.Text));
        }
    }

    // The model of the test above, its start and end logits 64 on the tokens with ids targets and 0 elsewhere.
    private static BertForQuestionAnswering ModelAnswering(params int[] targets)
    {
        var model = BertPretrained.Load<BertForQuestionAnswering>(HfFixture.Dir(Case));
        using (torch.no_grad())
        {
            var p = torch.tensor(Enumerable.Range(0, 64).Select(d => d % 2 == 0 ? 1f : -1f).ToArray());
            var q = torch.tensor(Enumerable.Range(0, 64).Select(d => d / 2 % 2 == 0 ? 1f : -1f).ToArray());
            foreach (var (name, param) in model.NamedParameters())
            {
                if (name.Contains("output.dense", StringComparison.Ordinal) || name.Contains("position_embeddings", StringComparison.Ordinal)
                    || name.Contains("token_type_embeddings", StringComparison.Ordinal) || name.EndsWith("bias", StringComparison.Ordinal))
                {
                    param.zero_();
                }
                else if (name.Contains("LayerNorm.weight", StringComparison.Ordinal))
                {
                    param.fill_(StableScalars.Of(1.0));
                }
                else if (name.EndsWith("word_embeddings.weight", StringComparison.Ordinal))
                {
                    param.copy_(q.expand(param.shape));
                    foreach (var target in targets)
                    {
                        param[target].copy_(p);
                    }
                }
                else if (name == "qa_outputs.weight")
                {
                    param.copy_(p.expand(2, 64));
                }
            }
        }
        return model;
    }

    // The same construction with the logits on ##berman alone: HF's pipeline answers "Lieberman", the word the piece is in
    // (align_to_words), not "berman".
    [Fact]
    public void The_pipeline_answers_the_whole_word_of_a_best_span_inside_it()
    {
        var tokenizer = BertTokenizer.FromDirectory(HfFixture.Dir(Case));
        using var model = ModelAnswering(tokenizer.Vocab["##berman"]);
        using var pipe = new QuestionAnswering(model, tokenizer);
        const string context = "it was said by a Lieberman aide .";
        var best = pipe.Answer([("who said it ?", context)])[0][0];
        Assert.Equal(("Lieberman", 17, 26), (best.Answer, best.Start, best.End));
        Assert.True(best.Score > 0.99, $"score {best.Score}");
    }
}
