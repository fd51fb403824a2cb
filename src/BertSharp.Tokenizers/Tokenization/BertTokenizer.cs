
namespace BertSharp.Tokenization;

/// <summary>
/// The BERT WordPiece tokenizer with HF <c>BertTokenizerFast</c> semantics: <c>BertNormalizer</c>, <c>BertPreTokenizer</c>,
/// WordPiece (<c>##</c>, 100 chars per word), special tokens matched literally in the text, <c>[CLS] A [SEP] B [SEP]</c>.
/// Thread-safe: scratch buffers are per thread.
/// </summary>
public sealed partial class BertTokenizer
{
    private readonly TextSplitter _splitter;
    private readonly WordPiece _model;
    private readonly int[] _specialIds;
    private readonly HashSet<int> _specialIdSet;

    /// <summary>Creates a tokenizer over <paramref name="vocab"/>; the vocabulary must contain <paramref name="specials"/>.Unk.</summary>
    public BertTokenizer(Vocabulary vocab, NormalizerOptions? normalizer = null, SpecialTokens? specials = null,
        int maxInputCharsPerWord = 100, int? modelMaxLength = null)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        // 0 would make every word [UNK]; a length below 1 fits no input. The file readers check the same values by name.
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInputCharsPerWord, 1);
        if (modelMaxLength is { } length)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(length, 1, nameof(modelMaxLength));
        }
        Vocab = vocab;
        Normalizer = normalizer ?? new NormalizerOptions();
        Specials = specials ?? new SpecialTokens();
        ModelMaxLength = modelMaxLength;
        if (!vocab.TryGetId(Specials.Unk, out var unk))
        {
            throw new BertSharpException(MissingUnk(Specials.Unk));
        }
        UnkId = unk;
        ClsId = IdOrMinus1(Specials.Cls);
        SepId = IdOrMinus1(Specials.Sep);
        PadId = IdOrMinus1(Specials.Pad);
        MaskId = IdOrMinus1(Specials.Mask);
        var literal = Specials.All.Where(vocab.Contains).Distinct().ToArray();
        _specialIds = literal.Select(t => vocab[t]).ToArray();
        _specialIdSet = [.. _specialIds];
        _splitter = new TextSplitter(Normalizer, literal);
        _model = new WordPiece(vocab, unk, maxInputCharsPerWord);
    }

    /// <summary>Loads <c>vocab.txt</c>; <paramref name="stripAccents"/> null follows <paramref name="lowercase"/> as in HF.</summary>
    public static BertTokenizer FromVocabFile(string path, bool lowercase = true, bool? stripAccents = null)
    {
        var vocab = Vocabulary.Load(path);
        RequireUnk(vocab, new SpecialTokens(), path);
        return new(vocab, new NormalizerOptions(Lowercase: lowercase, StripAccents: stripAccents));
    }

    private static string MissingUnk(string unk) => $"the vocabulary has no unknown token '{unk}'; a WordPiece vocabulary needs one.";

    /// <summary>
    /// The constructor's check, naming the file the vocabulary came from: a model directory whose vocab.txt is an HTML error
    /// page or a Git LFS pointer failed in every command with only "the vocabulary has no unknown token".
    /// </summary>
    private static void RequireUnk(Vocabulary vocab, SpecialTokens specials, string path)
    {
        if (!vocab.TryGetId(specials.Unk, out _))
        {
            throw new BertSharpException($"{path}: {MissingUnk(specials.Unk)}");
        }
    }

    /// <summary>The WordPiece vocabulary: token ↔ id, ids 0..<see cref="Vocabulary.Count"/> - 1.</summary>
    public Vocabulary Vocab { get; }

    /// <summary>
    /// The <c>BertNormalizer</c> settings (lowercasing, accent stripping, Chinese characters, control clean-up).
    /// </summary>
    public NormalizerOptions Normalizer { get; }

    /// <summary>
    /// The special tokens' strings ([PAD], [UNK], [CLS], [SEP], [MASK] by default); those in the vocabulary are matched
    /// literally in the text and never split.
    /// </summary>
    public SpecialTokens Specials { get; }

    /// <summary>Whether text is lowercased.</summary>
    public bool Lowercase => Normalizer.Lowercase;

    /// <summary>The model's maximum sequence length from <c>tokenizer_config.json</c>, if known.</summary>
    public int? ModelMaxLength { get; }

    /// <summary>
    /// The longest word, in Unicode code points (≥ 1, 100 by default as in HF), that WordPiece splits; a longer word
    /// becomes a single [UNK].
    /// </summary>
    public int MaxInputCharsPerWord => _model.MaxInputCharsPerWord;

    /// <summary>Whether the WordPiece decoder applies HF's clean-up (<c>decoder.cleanup</c> in tokenizer.json).</summary>
    public bool DecoderCleanup { get; init; } = true;

    /// <summary>Id of [PAD] (<see cref="SpecialTokens.Pad"/>), or -1 when the vocabulary has none.</summary>
    public int PadId { get; }

    /// <summary>Id of [UNK] (<see cref="SpecialTokens.Unk"/>); always in the vocabulary (the constructor requires it).</summary>
    public int UnkId { get; }

    /// <summary>Id of [CLS] (<see cref="SpecialTokens.Cls"/>), or -1 when the vocabulary has none.</summary>
    public int ClsId { get; }

    /// <summary>Id of [SEP] (<see cref="SpecialTokens.Sep"/>), or -1 when the vocabulary has none.</summary>
    public int SepId { get; }

    /// <summary>Id of [MASK], or -1 when the vocabulary has none.</summary>
    public int MaskId { get; }

    /// <summary>Whether <paramref name="id"/> is one of the special tokens ([PAD], [UNK], [CLS], [SEP], [MASK]).</summary>
    public bool IsSpecialId(int id) => _specialIdSet.Contains(id);

    /// <summary>The word pieces of <paramref name="text"/> (no [CLS]/[SEP]).</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var buf = Collect(text);
        var tokens = new string[buf.Count];
        for (var i = 0; i < tokens.Length; i++)
        {
            tokens[i] = Vocab[buf.Ids[i]];
        }
        return tokens;
    }

    /// <summary>Encodes a text or a pair (<c>[CLS] A [SEP] B [SEP]</c>).</summary>
    public BertEncoding Encode(string text, string? textPair = null, EncodeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var buf = TokenBuffer.ForThisThread();
        buf.Count = 0;
        Split(text, buf);
        var nA = buf.Count;
        if (textPair is not null)
        {
            Split(textPair, buf);
        }
        return EncodingBuilder.Build(this, text, textPair, buf, nA, buf.Count - nA, options ?? EncodeOptions.Default);
    }

    /// <summary>Encodes many inputs in parallel; with <see cref="PaddingStrategy.Longest"/> all are padded to the longest.</summary>
    public IReadOnlyList<BertEncoding> EncodeBatch(IReadOnlyList<(string Text, string? TextPair)> inputs, EncodeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var o = options ?? EncodeOptions.Default;
        // Checked here, not only per item, so that bad options or a null text fail once, as Encode fails, rather than
        // once per partition of the parallel loop inside an AggregateException.
        o.Validate();
        for (var i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Text is null)
            {
                throw new ArgumentNullException("text", Invariant($"batch item {i} has a null text."));
            }
        }
        var perItem = o.Padding == PaddingStrategy.Longest ? o with { Padding = PaddingStrategy.None } : o;
        var results = new BertEncoding[inputs.Count];
        if (results.Length == 0)
        {
            return results;
        }
        try
        {
            Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, inputs.Count, Math.Max(16, inputs.Count / (Environment.ProcessorCount * 4) + 1)),
                range =>
                {
                    for (var i = range.Item1; i < range.Item2; i++)
                    {
                        results[i] = Encode(inputs[i].Text, inputs[i].TextPair, perItem);
                    }
                });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // What an item throws (e.g. a max_length too small for the special tokens) reaches the caller as Encode throws it.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
        if (o.Padding == PaddingStrategy.Longest && results.Length > 0)
        {
            var longest = 0;
            foreach (var r in results)
            {
                longest = Math.Max(longest, r.Length);
            }
            longest = o.RoundPadding(longest);
            for (var i = 0; i < results.Length; i++)
            {
                results[i] = Padding.Pad(this, results[i], longest, o.PaddingSide);
            }
        }
        return results;
    }

    /// <summary>Ids only: the one array returned is the only allocation.</summary>
    public int[] EncodeIds(string text, string? textPair = null, EncodeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var o = options ?? EncodeOptions.Default;
        // Checked here too, so that the fast path below refuses the options Encode refuses.
        o.Validate();
        if (o.ReturnOverflowing || o.Padding != PaddingStrategy.None || (o.MaxLength is not null && o.Truncation != TruncationStrategy.None))
        {
            return Encode(text, textPair, o).Ids;
        }
        var buf = TokenBuffer.ForThisThread();
        buf.Count = 0;
        var sink = new IdsSink(_model, buf, _specialIds);
        var word = WordBuffer.ForThisThread();
        _splitter.Split(text, word, ref sink);
        var nA = buf.Count;
        if (textPair is not null)
        {
            _splitter.Split(textPair, word, ref sink);
        }
        if (!o.AddSpecialTokens)
        {
            return buf.Ids.AsSpan(0, buf.Count).ToArray();
        }
        if (MissingClsSep() is not null)
        {
            throw NoClsSep();
        }
        var ids = new int[buf.Count + (textPair is null ? 2 : 3)];
        ids[0] = ClsId;
        buf.Ids.AsSpan(0, nA).CopyTo(ids.AsSpan(1));
        ids[nA + 1] = SepId;
        if (textPair is not null)
        {
            buf.Ids.AsSpan(nA, buf.Count - nA).CopyTo(ids.AsSpan(nA + 2));
            ids[^1] = SepId;
        }
        return ids;
    }

    /// <summary>Which of [CLS] and [SEP] (as <see cref="Specials"/> names them) the vocabulary lacks, or null when it has both.</summary>
    internal string? MissingClsSep() => (ClsId < 0, SepId < 0) switch
    {
        (true, true) => $"{Specials.Cls} and {Specials.Sep} tokens",
        (true, false) => $"{Specials.Cls} token",
        (false, true) => $"{Specials.Sep} token",
        _ => null,
    };

    /// <summary>
    /// The refusal of an encoding with special tokens by a vocabulary that lacks them, naming its file and the option: it
    /// said "encode with AddSpecialTokens = false", a C# property, and not which vocabulary. The field is named plainly, not
    /// through <see cref="BertSharpException.Field"/>: no flag answers to it, and the CLI refuses such a vocabulary before it encodes.
    /// </summary>
    internal BertSharpException NoClsSep() => new(
        $"{(Vocab.Source is { } file ? file + ": the" : "the")} vocabulary has no {MissingClsSep()}, which add_special_tokens " +
        $"puts around every text; encode with add_special_tokens false, or use a vocabulary with {Specials.Cls} and {Specials.Sep}.");

    /// <summary>Number of word pieces of <paramref name="text"/> (no special tokens); allocates nothing.</summary>
    public int CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sink = new CountSink(_model);
        _splitter.Split(text, WordBuffer.ForThisThread(), ref sink);
        return sink.Count;
    }

    private TokenBuffer Collect(string text)
    {
        var buf = TokenBuffer.ForThisThread();
        buf.Count = 0;
        Split(text, buf);
        return buf;
    }

    private void Split(string text, TokenBuffer buf)
    {
        var sink = new CollectSink(_model, buf, _specialIds);
        _splitter.Split(text, WordBuffer.ForThisThread(), ref sink);
    }

    private int IdOrMinus1(string token) => Vocab.TryGetId(token, out var id) ? id : -1;
}

/// <summary>The names of BERT's special tokens.</summary>
public sealed record SpecialTokens(string Unk = "[UNK]", string Cls = "[CLS]", string Sep = "[SEP]", string Pad = "[PAD]", string Mask = "[MASK]")
{
    /// <summary>All five, in HF's registration order.</summary>
    public IReadOnlyList<string> All => [Pad, Unk, Cls, Sep, Mask];
}
