namespace BertSharp.Tokenization.Training;

/// <summary>
/// Settings of <see cref="WordPieceTrainer"/>; the defaults are those of HuggingFace's <c>BertWordPieceTokenizer.train</c>
/// (vocabulary 30,000, minimum pair frequency 2, alphabet limited to 1,000 characters, BERT's five special tokens).
/// </summary>
public sealed record WordPieceTrainerOptions
{
    /// <summary>The special tokens of BERT, in the order they get ids 0..4.</summary>
    public static IReadOnlyList<string> BertSpecialTokens { get; } = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    /// <summary>Target vocabulary size; merging stops once the vocabulary holds this many tokens.</summary>
    public int VocabSize { get; init; } = 30_000;

    /// <summary>Merging stops at the first candidate pair seen fewer times than this in the corpus.</summary>
    public long MinFrequency { get; init; } = 2;

    /// <summary>
    /// At most this many distinct characters enter the initial alphabet (the most frequent ones); characters left out are
    /// dropped from the words before merging. Null keeps every character.
    /// </summary>
    public int? LimitAlphabet { get; init; } = 1000;

    /// <summary>Tokens placed first in the vocabulary, in this order.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = BertSpecialTokens;

    /// <summary>Prefix marking a piece that continues a word.</summary>
    public string ContinuingSubwordPrefix { get; init; } = "##";

    /// <summary>
    /// The order in which continuation tokens (<c>##</c> + one character) get their ids. HuggingFace assigns them in the
    /// iteration order of a randomly seeded hash map, so its output varies from run to run; replaying the order one HF
    /// run used makes this trainer reproduce that run exactly (the reference tests do this). Characters not listed follow
    /// in code-point order; null means pure code-point order.
    /// </summary>
    internal IReadOnlyList<string>? ContinuationOrder { get; init; }
}
