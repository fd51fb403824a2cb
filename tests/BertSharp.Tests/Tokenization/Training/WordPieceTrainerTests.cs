using BertSharp.Tokenization.Training;

namespace BertSharp.Tests.Tokenization.Training;

/// <summary>
/// Hand-computed runs of the trainer on the HuggingFace course's toy corpus (hug 10, pug 5, pun 12, bun 4, hugs 5).
/// Alphabet b g h n p s u (ids 0-6), then ##g ##n ##s ##u (7-10). Pair counts: ##u##g 20, p##u 17, ##u##n 16, h##u 15,
/// ##g##s 5, b##u 4. Merges in order: ##ug (20); ##un (16, p##u fell to 12); hug (15); pun (12); pug and hugs tie at 5,
/// (p=4, ##ug=11) &lt; (hug=13, ##s=9) so pug first; bun (4).
/// </summary>
public class WordPieceTrainerTests
{
    private static readonly Dictionary<string, long> Toy = new()
    {
        ["hug"] = 10, ["pug"] = 5, ["pun"] = 12, ["bun"] = 4, ["hugs"] = 5,
    };

    private static readonly string[] ToyFull =
    [
        "b", "g", "h", "n", "p", "s", "u", "##g", "##n", "##s", "##u",
        "##ug", "##un", "hug", "pun", "pug", "hugs", "bun",
    ];

    private static WordPieceTrainerOptions Plain(int vocabSize = 1000) =>
        new() { VocabSize = vocabSize, MinFrequency = 0, LimitAlphabet = null, SpecialTokens = [] };

    [Fact]
    public void Toy_corpus_merges_until_no_pair_is_left()
    {
        var result = new WordPieceTrainer(Plain()).Train(Toy);
        Assert.Equal(ToyFull, result.Tokens);
        Assert.Equal(7, result.AlphabetSize);
        Assert.Equal(4, result.ContinuationTokens);
        Assert.Equal(7, result.Merges);
    }

    [Fact]
    public void Stops_when_the_vocabulary_is_full()
    {
        var result = new WordPieceTrainer(Plain(vocabSize: 15)).Train(Toy);
        Assert.Equal(ToyFull[..15], result.Tokens);
    }

    [Fact]
    public void Stops_at_the_first_pair_rarer_than_min_frequency()
    {
        // p##un has 12 < 13: merging ends after ##ug (20), ##un (16) and hug (15).
        var result = new WordPieceTrainer(Plain() with { MinFrequency = 13 }).Train(Toy);
        Assert.Equal(ToyFull[..14], result.Tokens);
    }

    [Fact]
    public void Special_tokens_come_first_and_limit_alphabet_drops_the_rarest_characters()
    {
        // Character counts: u 36, g 20, p 17, n 16, h 15, s 5, b 4: a limit of 5 drops b and s. "bun" becomes ##u ##n
        // (its first character is gone but the next one is still a continuation) and "hugs" becomes h ##u ##g.
        // Pairs: ##u##g 20 (hug 10, pug 5, hugs 5), ##u##n 16, h##u 15, p##u 17.
        // Merges: ##ug 20; then p##u 12 and ##u##n 16: ##un; h##ug 15: hug; p##un 12: pun; p##ug 5: pug; nothing else.
        var options = Plain() with { LimitAlphabet = 5, SpecialTokens = ["[PAD]", "[UNK]"] };
        var result = new WordPieceTrainer(options).Train(Toy);
        string[] expected = ["[PAD]", "[UNK]", "g", "h", "n", "p", "u", "##g", "##n", "##u", "##ug", "##un", "hug", "pun", "pug"];
        Assert.Equal(expected, result.Tokens);
        Assert.Equal(5, result.AlphabetSize);
    }

    [Fact]
    public void A_character_that_is_a_special_token_is_not_counted_again_in_the_alphabet()
    {
        // "h" is a special token here: the vocabulary holds it once, so the counts beside the size (1 special, 6
        // characters, 4 ##characters, 7 merges) add up to the 18 tokens; the alphabet counted 7 and the sum came to 19.
        var result = new WordPieceTrainer(Plain() with { SpecialTokens = ["h"] }).Train(Toy);
        Assert.Equal(["h", "b", "g", "n", "p", "s", "u", .. ToyFull[7..]], result.Tokens);
        Assert.Equal(6, result.AlphabetSize);
        Assert.Equal(result.Tokens.Count, 1 + result.AlphabetSize + result.ContinuationTokens + result.Merges);
    }

    [Fact]
    public void Alphabet_cut_breaks_count_ties_by_dropping_higher_code_points()
    {
        // a, b, c all have count 3: a limit of 2 keeps a and b.
        var counts = new Dictionary<string, long> { ["ab"] = 1, ["bc"] = 1, ["ca"] = 1, ["a"] = 1, ["b"] = 1, ["c"] = 1 };
        var result = new WordPieceTrainer(Plain() with { LimitAlphabet = 2 }).Train(counts);
        Assert.Equal(["a", "b"], result.Tokens.Take(2));
        Assert.DoesNotContain("c", result.Tokens);
        Assert.DoesNotContain("##c", result.Tokens);
    }

    [Fact]
    public void A_limit_alphabet_of_zero_keeps_no_character_as_in_hf_and_null_keeps_all()
    {
        // HF: to_remove = alphabet.len() - 0, so every character goes, and with them every ##c and every pair. The CLI's
        // --limit-alphabet 0 is the library's null (docs/vocab-training.md says so).
        var none = new WordPieceTrainer(Plain() with { LimitAlphabet = 0, SpecialTokens = ["[UNK]"] }).Train(Toy);
        Assert.Equal(["[UNK]"], none.Tokens);
        Assert.Equal(0, none.AlphabetSize);
        Assert.Equal(ToyFull, new WordPieceTrainer(Plain() with { LimitAlphabet = null }).Train(Toy).Tokens);
    }

    [Fact]
    public void Repeated_symbols_merge_left_to_right_without_overlap()
    {
        // "aaaa" x1: a ##a ##a ##a. Pair ##a##a = 2 (two windows), a##a = 1. Merge ##a##a -> a ##aa ##a (the scan is
        // left to right, so the second ##a##a window is consumed). Then a##aa (1) and ##aa##a (1) tie:
        // (a=0, ##aa=2) < (##aa=2, ##a=1), so "aaa" is next: [aaa, ##a]; finally aaa##a -> "aaaa".
        var result = new WordPieceTrainer(Plain()).Train(new Dictionary<string, long> { ["aaaa"] = 1 });
        Assert.Equal(["a", "##a", "##aa", "aaa", "aaaa"], result.Tokens);
    }

    [Fact]
    public void Characters_outside_the_bmp_are_single_symbols()
    {
        var result = new WordPieceTrainer(Plain()).Train(new Dictionary<string, long> { ["😀x😀"] = 2 });
        Assert.Equal(["x", "😀", "##x", "##😀", "😀x", "😀x😀"], result.Tokens);
    }

    [Fact]
    public void Output_does_not_depend_on_the_order_words_are_given_in()
    {
        var reversed = new Dictionary<string, long>();
        foreach (var (k, v) in Toy.Reverse())
        {
            reversed[k] = v;
        }
        Assert.Equal(new WordPieceTrainer(Plain()).Train(Toy).Tokens, new WordPieceTrainer(Plain()).Train(reversed).Tokens);
    }

    [Fact]
    public void Empty_corpus_gives_only_the_special_tokens()
    {
        var result = new WordPieceTrainer().Train(new Dictionary<string, long>());
        Assert.Equal(WordPieceTrainerOptions.BertSpecialTokens, result.Tokens);
    }

    [Fact]
    public void Rejects_a_vocabulary_size_below_one() =>
        Assert.Throws<BertSharpException>(() => new WordPieceTrainer(Plain(vocabSize: 0)));

    [Fact]
    public void Rejects_special_tokens_it_cannot_give_one_id_each()
    {
        // Given twice, "[UNK]" took one id and "a" moved to id 1: the vocabulary no longer had the ids the list promised.
        var twice = Assert.Throws<BertSharpException>(() => new WordPieceTrainer(Plain() with { SpecialTokens = ["[UNK]", "[PAD]", "[UNK]"] }));
        Assert.Equal("special tokens: '[UNK]' is given twice (items 0 and 2); each takes one id.", twice.Message);
        var empty = Assert.Throws<BertSharpException>(() => new WordPieceTrainer(Plain() with { SpecialTokens = ["[PAD]", ""] }));
        Assert.Equal("special tokens: item 1 is empty; expected a token.", empty.Message);
        // Written as vocab.txt and loaded, "[X]\r[Y]" was two tokens and [MASK] moved from id 2 to id 3.
        foreach (var broken in new[] { "[X]\n[Y]", "[X]\r[Y]", "[X]\r\n" })
        {
            var lineBreak = Assert.Throws<BertSharpException>(() => new WordPieceTrainer(Plain() with { SpecialTokens = ["[PAD]", broken, "[MASK]"] }));
            Assert.Equal("special tokens: item 1 holds a line break; expected a token on one line (vocab.txt has one token a line).", lineBreak.Message);
        }
        // Null where the annotations say otherwise (a caller without nullable checks) was a NullReferenceException in Train.
        Assert.Throws<BertSharpException>(() => new WordPieceTrainer(Plain() with { SpecialTokens = null! }));
        Assert.Throws<BertSharpException>(() => new WordPieceTrainer(Plain() with { SpecialTokens = ["[PAD]", null!] }));
        Assert.Throws<BertSharpException>(() => new WordPieceTrainer(Plain() with { ContinuingSubwordPrefix = null! }));
    }

    [Fact]
    public void Rejects_a_negative_word_count()
    {
        var e = Assert.Throws<ArgumentException>(() => new WordPieceTrainer(Plain()).Train(new Dictionary<string, long>(Toy) { ["pun"] = -12 }));
        Assert.StartsWith("word 'pun' has count -12; expected a count ≥ 0.", e.Message, StringComparison.Ordinal);
        Assert.Equal("wordCounts", e.ParamName);
    }

    [Fact]
    public void Word_counter_sums_words_over_lines_and_threads()
    {
        var lines = Enumerable.Range(0, 2000).Select(i => i % 2 == 0 ? "a b a" : "b c");
        var counts = WordCounter.Count(lines, l => l.Split(' '), threads: 2);
        Assert.Equal(new Dictionary<string, long> { ["a"] = 2000, ["b"] = 2000, ["c"] = 1000 }, counts);
    }
}
