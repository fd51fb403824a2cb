using BertSharp.Inference;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Inference;

public sealed class TokenClassificationTests
{
    private const string Case = "token-classification";

    [Fact]
    public void Logits_equal_HF_reference_for_every_text()
    {
        var rows = InferenceFixtures.Rows(Case);
        var reference = HfFixture.Tensors(Case);
        using var pipe = TokenClassification.Load(HfFixture.Dir(Case));
        var (encodings, logits) = pipe.Logits([.. rows.Select(r => r.Text)], batchSize: 4);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(rows[i].Length, encodings[i].Length);
            var expected = InferenceFixtures.Slice(reference["out.logits"], i, rows[i].Length);
            InferenceFixtures.AssertClose(expected, logits[i].SelectMany(r => r).ToArray(), 1e-5, $"row {i}");
        }
        HfFixture.DisposeAll(reference);
    }

    // Without aggregation each non-special token is one entity: the argmax label of HF's logits, its softmax probability, and
    // the token's span in the text.
    [Fact]
    public void No_aggregation_gives_argmax_of_HF_logits_with_spans()
    {
        var rows = InferenceFixtures.Rows(Case);
        var reference = HfFixture.Tensors(Case);
        using var pipe = TokenClassification.Load(HfFixture.Dir(Case));
        var result = pipe.Predict([.. rows.Select(r => r.Text)], AggregationStrategy.None);
        for (var i = 0; i < rows.Count; i++)
        {
            var logits = InferenceFixtures.Slice(reference["out.logits"], i, rows[i].Length);
            Assert.Equal(rows[i].Length - 2, result[i].Count);
            foreach (var e in result[i])
            {
                var row = logits.AsSpan(e.Index!.Value * 5, 5);
                var max = row.ToArray().Max();
                var sum = row.ToArray().Sum(l => Math.Exp(l - max));
                Assert.Equal($"LABEL_{row.IndexOf(max)}", e.Entity);
                Assert.Equal(1.0 / sum, e.Score, 1e-6);
                var span = rows[i].Text[e.Start..e.End];
                if (span.All(char.IsAscii))
                {
                    Assert.Equal(e.Word.TrimStart('#'), span.ToLowerInvariant());
                }
            }
        }
        HfFixture.DisposeAll(reference);
    }

    // HF's gather_pre_entities shows an [UNK] token as the text it stands for (word = sentence[start:end]): the entity's
    // word was "[UNK]", which named nothing for an emoji or a name outside the vocabulary.
    [Fact]
    public void Unknown_tokens_are_shown_as_the_text_they_stand_for()
    {
        const string text = "the 😁 Xyzzy";
        using var pipe = TokenClassification.Load(HfFixture.Dir(Case));
        var tokens = pipe.Predict([text], AggregationStrategy.None, ignoreLabels: [])[0];
        Assert.Equal([("the", 0, 3), ("😁", 4, 6), ("Xyzzy", 7, 12)], tokens.Select(t => (t.Word, t.Start, t.End)));
        var groups = pipe.Predict([text], AggregationStrategy.First, ignoreLabels: [])[0];
        Assert.Equal(text, string.Join(" ", groups.Select(g => g.Word)));
    }

    // Such a text passed as text and was tagged as [CLS] [SEP]: no entity, read as "none found". bert ner and POST /v1/ner
    // refuse it first in their own names (CliBoundsTests, ServerApiTests); the library names the text's index.
    [Fact]
    public void A_text_the_tokenizer_keeps_nothing_of_is_refused_naming_its_index()
    {
        using var pipe = TokenClassification.Load(HfFixture.Dir(Case), "cpu");
        Assert.Equal("texts[1]: no word pieces (only characters the tokenizer drops, such as control or zero-width ones); expected text.",
            Assert.Throws<BertSharpException>(() => pipe.Predict(["the cat", "\u200b\u0007"])).Message);
        Assert.Equal("texts[0]: empty or white space only; expected text.", Assert.Throws<BertSharpException>(() => pipe.Logits([" "])).Message);
    }

    private static readonly string[] Labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];

    private static TokenScores T(string token, int start, int end, bool sub, params double[] scores) =>
        new(token, scores, start, end, 0, sub);

    // "ann lives in paris": ann = "an" + "##n" (a word split into two pieces), paris = "par" + "##is".
    private static readonly TokenScores[] Sentence =
    [
        T("an", 0, 2, false, 0.1, 0.7, 0.1, 0.05, 0.05),
        T("##n", 2, 3, true, 0.1, 0.1, 0.2, 0.5, 0.1),
        T("lives", 4, 9, false, 0.9, 0.025, 0.025, 0.025, 0.025),
        T("in", 10, 12, false, 0.8, 0.05, 0.05, 0.05, 0.05),
        T("par", 13, 16, false, 0.1, 0.1, 0.1, 0.6, 0.1),
        T("##is", 16, 18, true, 0.1, 0.1, 0.1, 0.1, 0.6),
    ];

    [Fact]
    public void Simple_groups_B_then_I_of_one_tag_and_splits_on_tag_change()
    {
        var e = TokenAggregation.Aggregate(Sentence, Labels, AggregationStrategy.Simple);
        // an→B-PER, ##n→B-LOC (new group), par→B-LOC (B starts a new group), ##is→I-LOC joins it.
        Assert.Equal(3, e.Count);
        Assert.Equal(new TokenEntity("PER", 0.7, "an", 0, 2), e[0]);
        Assert.Equal(new TokenEntity("LOC", 0.5, "##n", 2, 3), e[1]);
        Assert.Equal("LOC", e[2].Entity);
        Assert.Equal("paris", e[2].Word);
        Assert.Equal((13, 18), (e[2].Start, e[2].End));
        Assert.Equal(0.6, e[2].Score, 12);
    }

    // HF's group_sub_entities scores a group with the mean of its members' scores (np.nanmean): "new" B-LOC 0.9 and "york"
    // I-LOC 0.6 are one LOC of score (0.9 + 0.6) / 2 = 0.75, neither the first member's nor the best one's; "lives" (O 0.8)
    // and a leading I-PER (0.5, a group of its own as HF starts one on a tag change) come out as O, dropped, and PER 0.5.
    [Fact]
    public void Simple_scores_a_group_with_the_mean_of_its_members_scores_as_HF()
    {
        TokenScores[] tokens =
        [
            T("new", 0, 3, false, 0.05, 0.0, 0.0, 0.9, 0.05),
            T("york", 4, 8, false, 0.1, 0.1, 0.1, 0.1, 0.6),
            T("lives", 9, 14, false, 0.8, 0.05, 0.05, 0.05, 0.05),
            T("ann", 15, 18, false, 0.2, 0.1, 0.5, 0.1, 0.1),
        ];
        var e = TokenAggregation.Aggregate(tokens, Labels, AggregationStrategy.Simple);
        Assert.Equal([("LOC", "new york", 0, 8), ("PER", "ann", 15, 18)], e.Select(x => (x.Entity, x.Word, x.Start, x.End)));
        Assert.Equal(0.75, e[0].Score, 12);
        Assert.Equal(0.5, e[1].Score, 12);
    }

    [Fact]
    public void First_average_and_max_label_whole_words()
    {
        var first = TokenAggregation.Aggregate(Sentence, Labels, AggregationStrategy.First);
        Assert.Equal([("PER", "ann", 0.7), ("LOC", "paris", 0.6)], first.Select(x => (x.Entity, x.Word, Math.Round(x.Score, 9))));

        // ann: mean scores (0.1, 0.4, 0.15, 0.275, 0.075) → B-PER 0.4; paris: (0.1, 0.1, 0.1, 0.35, 0.35) → first max B-LOC 0.35.
        var avg = TokenAggregation.Aggregate(Sentence, Labels, AggregationStrategy.Average);
        Assert.Equal([("PER", "ann", 0.4), ("LOC", "paris", 0.35)], avg.Select(x => (x.Entity, x.Word, Math.Round(x.Score, 9))));

        // ann: the most confident piece is "an" (0.7) → B-PER; paris: tie 0.6 vs 0.6 → the first, B-LOC.
        var max = TokenAggregation.Aggregate(Sentence, Labels, AggregationStrategy.Max);
        Assert.Equal([("PER", "ann", 0.7), ("LOC", "paris", 0.6)], max.Select(x => (x.Entity, x.Word, Math.Round(x.Score, 9))));
    }

    [Fact]
    public void None_keeps_tokens_and_drops_O()
    {
        var e = TokenAggregation.Aggregate(Sentence, Labels, AggregationStrategy.None);
        Assert.Equal(["B-PER", "B-LOC", "B-LOC", "I-LOC"], e.Select(x => x.Entity));
        Assert.Equal(["an", "##n", "par", "##is"], e.Select(x => x.Word));
    }

    [Theory]
    [InlineData(AggregationStrategy.None)]
    [InlineData(AggregationStrategy.Average)]
    public void Scores_and_labels_of_different_counts_are_refused(AggregationStrategy strategy)
    {
        // Five scores, four labels: the argmax (index 4) had no label and Aggregate threw IndexOutOfRangeException.
        var e = Assert.Throws<ArgumentException>(() => TokenAggregation.Aggregate([T("a", 0, 1, false, 0.1, 0.1, 0.1, 0.1, 0.6)], Labels[..4], strategy));
        Assert.StartsWith("tokens[0] has 5 scores; expected one per label (4).", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(AggregationStrategy.Simple)]
    [InlineData(AggregationStrategy.First)]
    [InlineData(AggregationStrategy.Average)]
    [InlineData(AggregationStrategy.Max)]
    public void Group_words_are_the_text_hf_prints(AggregationStrategy strategy)
    {
        // Every token labelled O and O kept (HF ignore_labels=[]): one group, whose word HF transformers 5.17 printed as
        // Tokenization.DecodeTests.UsOfficialsHf for each of these strategies; "##s" is the only subword.
        var tokens = Tokenization.DecodeTests.UsOfficials.Select((t, i) => T(t, i, i + 1, t.StartsWith("##", StringComparison.Ordinal), 0.6, 0.1, 0.1, 0.1, 0.1)).ToArray();
        var group = Assert.Single(TokenAggregation.Aggregate(tokens, Labels, strategy, ignoreLabels: []));
        Assert.Equal(("O", Tokenization.DecodeTests.UsOfficialsHf), (group.Entity, group.Word));
        var plain = Assert.Single(TokenAggregation.Aggregate(tokens, Labels, strategy, ignoreLabels: [], decoderCleanup: false));
        Assert.StartsWith("u . s . officials", plain.Word, StringComparison.Ordinal);
    }
}
