using System.Runtime.InteropServices;
using System.Text;

namespace BertSharp.Tokenization.Training;

/// <summary>
/// Learns a WordPiece vocabulary from word counts with HuggingFace <c>tokenizers</c>' WordPiece trainer algorithm, which
/// is BPE training with a continuing-subword prefix:
/// <list type="number">
/// <item>special tokens first;</item>
/// <item>the alphabet: every character of the words weighted by word count, cut to the
/// <see cref="WordPieceTrainerOptions.LimitAlphabet"/> most frequent, then ordered by code point;</item>
/// <item>each word split into characters, all but the first prefixed with <c>##</c> (each new <c>##c</c> is a token);</item>
/// <item>repeatedly merge the most frequent adjacent pair into a new token (<c>a</c> + <c>##b</c> → <c>ab</c>,
/// <c>##a</c> + <c>##b</c> → <c>##ab</c>) until the vocabulary is full, no pair is left, or the best pair is rarer than
/// <see cref="WordPieceTrainerOptions.MinFrequency"/>.</item>
/// </list>
/// The merge loop is HF's, quirks included (a lazily updated priority queue whose entries carry the words to update, so a
/// pair's occurrences can be merged in more than one step, and a merge yielding an existing token adds no token).
/// <para>Determinism (HF leaves these to hash-map and unstable-sort order, so its output varies between runs):
/// pairs of equal count are taken in ascending (left id, right id) order, as in HF; <c>##c</c> tokens get their ids in
/// code-point order; when the alphabet is cut, among characters of equal count the higher code points are dropped first;
/// queue entries for the same pair and count pop first-in first-out.</para>
/// </summary>
public sealed class WordPieceTrainer
{
    private readonly WordPieceTrainerOptions _options;

    /// <summary>
    /// Creates a trainer with <paramref name="options"/> (null: the defaults of <see cref="WordPieceTrainerOptions"/>).
    /// </summary>
    /// <exception cref="BertSharpException">
    /// An option is out of range: a negative limit_alphabet or min_frequency, a null prefix or special-token list, a
    /// vocab_size below the number of special tokens, or a repeated or empty special token, or one holding a line break.
    /// </exception>
    public WordPieceTrainer(WordPieceTrainerOptions? options = null)
    {
        _options = options ?? new WordPieceTrainerOptions();
        static string F(string name) => BertSharpException.Field(name);
        if (_options.LimitAlphabet is < 0)
        {
            throw new BertSharpException(Invariant($"{F("limit_alphabet")} {_options.LimitAlphabet}: expected a number ≥ 0."));
        }
        if (_options.MinFrequency < 0)
        {
            throw new BertSharpException(Invariant($"{F("min_frequency")} {_options.MinFrequency}: expected a number ≥ 0."));
        }
        if (_options.ContinuingSubwordPrefix is null)
        {
            throw new BertSharpException("continuing subword prefix: expected a string (\"##\" for BERT), got null.");
        }
        if (_options.SpecialTokens is null)
        {
            throw new BertSharpException("special tokens: expected a list (empty for none), got null.");
        }
        // The special tokens come first and are always kept: a smaller vocabulary could not hold them.
        if (_options.VocabSize < Math.Max(1, _options.SpecialTokens.Count))
        {
            throw new BertSharpException(
                Invariant($"{F("vocab_size")} {_options.VocabSize}: expected at least {Math.Max(1, _options.SpecialTokens.Count)} (the special tokens come first)."));
        }
        // A repeated special token took one id, so every later special moved up one place from where the list put it; an
        // empty one became a blank line of vocab.txt.
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _options.SpecialTokens.Count; i++)
        {
            var special = _options.SpecialTokens[i];
            if (string.IsNullOrEmpty(special))
            {
                throw new BertSharpException(Invariant($"special tokens: item {i} is {(special is null ? "null" : "empty")}; expected a token."));
            }
            // vocab.txt holds one token a line, and a loader splits at \r too: the token became two, and every later id moved.
            if (special.AsSpan().IndexOfAny('\n', '\r') >= 0)
            {
                throw new BertSharpException(Invariant($"special tokens: item {i} holds a line break; expected a token on one line (vocab.txt has one token a line)."));
            }
            if (!seen.TryAdd(special, i))
            {
                throw new BertSharpException(Invariant($"special tokens: '{special}' is given twice (items {seen[special]} and {i}); each takes one id."));
            }
        }
    }

    /// <summary>The settings this trainer runs with.</summary>
    public WordPieceTrainerOptions Options => _options;

    /// <summary>Trains a vocabulary from words (as produced by the BERT pre-tokenizer) and their corpus counts.</summary>
    public WordPieceTrainingResult Train(IReadOnlyDictionary<string, long> wordCounts)
    {
        ArgumentNullException.ThrowIfNull(wordCounts);
        foreach (var (word, count) in wordCounts)
        {
            if (count < 0)
            {
                // A negative count subtracts from the pair and alphabet counts of the words that share its characters.
                throw new ArgumentException(Invariant($"word '{word}' has count {count}; expected a count ≥ 0."), nameof(wordCounts));
            }
        }
        var vocab = new VocabBuilder();
        foreach (var special in _options.SpecialTokens)
        {
            vocab.GetOrAdd(special);
        }
        var alphabetSize = AddAlphabet(wordCounts, vocab);
        var continuationsBefore = vocab.Count;
        var (words, counts) = SplitWords(wordCounts, vocab);
        var continuations = vocab.Count - continuationsBefore;
        var merges = new MergeLoop(_options, vocab, words, counts).Run();
        return new WordPieceTrainingResult(vocab.Tokens, alphabetSize, continuations, merges, wordCounts.Count);
    }

    private int AddAlphabet(IReadOnlyDictionary<string, long> wordCounts, VocabBuilder vocab)
    {
        var alphabet = new Dictionary<int, long>();
        foreach (var (word, count) in wordCounts)
        {
            foreach (var rune in word.EnumerateRunes())
            {
                CollectionsMarshal.GetValueRefOrAddDefault(alphabet, rune.Value, out _) += count;
            }
        }
        var kept = alphabet.ToList();
        var toRemove = _options.LimitAlphabet is { } limit ? Math.Max(0, alphabet.Count - limit) : 0;
        if (toRemove > 0)
        {
            kept.Sort((x, y) => x.Value != y.Value ? x.Value.CompareTo(y.Value) : y.Key.CompareTo(x.Key));
            kept.RemoveRange(0, toRemove);
        }
        kept.Sort((x, y) => x.Key.CompareTo(y.Key));
        var before = vocab.Count;
        foreach (var (c, _) in kept)
        {
            vocab.GetOrAdd(new Rune(c).ToString());
        }
        // A character that is also a special token is in the vocabulary once, as the special token: the counts shown beside
        // the vocabulary's size (special + alphabet + ##characters + merges) add up to it.
        return vocab.Count - before;
    }

    /// <summary>
    /// Turns every word into its symbol ids; characters outside the alphabet are dropped (as in HF, a word's first
    /// character never gets the prefix even when it was dropped).
    /// </summary>
    private (int[][] Words, long[] Counts) SplitWords(IReadOnlyDictionary<string, long> wordCounts, VocabBuilder vocab)
    {
        var prefix = _options.ContinuingSubwordPrefix;
        var ordered = wordCounts.Keys.ToArray();
        Array.Sort(ordered, StringComparer.Ordinal);

        // Ids of the continuation tokens are fixed before any word is split, so they do not depend on word order.
        var needed = new SortedSet<int>();
        foreach (var word in ordered)
        {
            var first = true;
            foreach (var rune in word.EnumerateRunes())
            {
                if (!first && vocab.Contains(rune.ToString()))
                {
                    needed.Add(rune.Value);
                }
                first = false;
            }
        }
        foreach (var token in _options.ContinuationOrder ?? [])
        {
            if (token.StartsWith(prefix, StringComparison.Ordinal) && Rune.DecodeFromUtf16(token.AsSpan(prefix.Length), out var r, out var used)
                == System.Buffers.OperationStatus.Done && used == token.Length - prefix.Length && needed.Remove(r.Value))
            {
                vocab.GetOrAdd(token);
            }
        }
        foreach (var c in needed)
        {
            vocab.GetOrAdd(prefix + new Rune(c).ToString());
        }

        var words = new int[ordered.Length][];
        var counts = new long[ordered.Length];
        var symbols = new List<int>();
        for (var w = 0; w < ordered.Length; w++)
        {
            symbols.Clear();
            var first = true;
            foreach (var rune in ordered[w].EnumerateRunes())
            {
                var s = rune.ToString();
                if (vocab.Contains(s))
                {
                    symbols.Add(vocab.GetOrAdd(first ? s : prefix + s));
                }
                first = false;
            }
            words[w] = symbols.ToArray();
            counts[w] = wordCounts[ordered[w]];
        }
        return (words, counts);
    }

    /// <summary>Token strings with their ids (ids are list positions).</summary>
    private sealed class VocabBuilder
    {
        private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
        private readonly List<string> _tokens = [];

        public int Count => _tokens.Count;

        public List<string> Tokens => _tokens;

        public bool Contains(string token) => _ids.ContainsKey(token);

        public string this[int id] => _tokens[id];

        public int GetOrAdd(string token)
        {
            ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(_ids, token, out var exists);
            if (!exists)
            {
                id = _tokens.Count;
                _tokens.Add(token);
            }
            return id;
        }
    }

    /// <summary>The merge phase: pair counts, the words each pair occurs in, and the priority queue.</summary>
    private sealed class MergeLoop
    {
        private readonly WordPieceTrainerOptions _options;
        private readonly VocabBuilder _vocab;
        private readonly int[][] _words;
        private readonly int[] _lengths;
        private readonly long[] _counts;
        private readonly Dictionary<long, long> _pairCounts = [];
        private readonly Dictionary<long, HashSet<int>> _whereToUpdate = [];
        private readonly PriorityQueue<Entry, Entry> _queue = new(EntryOrder.Instance);
        private long _sequence;

        public MergeLoop(WordPieceTrainerOptions options, VocabBuilder vocab, int[][] words, long[] counts)
        {
            _options = options;
            _vocab = vocab;
            _words = words;
            _counts = counts;
            _lengths = new int[words.Length];
            for (var w = 0; w < words.Length; w++)
            {
                _lengths[w] = words[w].Length;
            }
        }

        private static long Pair(int a, int b) => ((long)a << 32) | (uint)b;

        public int Run()
        {
            for (var w = 0; w < _words.Length; w++)
            {
                var word = _words[w];
                for (var i = 0; i + 1 < word.Length; i++)
                {
                    Change(Pair(word[i], word[i + 1]), 1, w);
                }
            }
            PushUpdated();

            var merges = 0;
            var prefix = _options.ContinuingSubwordPrefix;
            while (_vocab.Count < _options.VocabSize && _queue.TryDequeue(out var top, out _))
            {
                var current = _pairCounts[top.Pair];
                if (top.Count != current)
                {
                    // Stale entry: requeue with the current count (HF's lazy update; the word set is kept).
                    top.Count = current;
                    Enqueue(top);
                    continue;
                }
                if (top.Count < 1 || _options.MinFrequency > top.Count)
                {
                    break;
                }
                var left = (int)(top.Pair >> 32);
                var right = (int)(uint)top.Pair;
                var rightText = _vocab[right];
                if (prefix.Length > 0 && rightText.StartsWith(prefix, StringComparison.Ordinal))
                {
                    rightText = rightText[prefix.Length..];
                }
                var replacement = _vocab.GetOrAdd(_vocab[left] + rightText);
                merges++;
                foreach (var w in top.Words)
                {
                    MergeWord(w, left, right, replacement);
                }
                PushUpdated();
            }
            return merges;
        }

        /// <summary>Replaces every non-overlapping (left, right) in word <paramref name="w"/>, scanning left to right.</summary>
        private void MergeWord(int w, int left, int right, int replacement)
        {
            var sym = _words[w];
            var len = _lengths[w];
            for (var i = 0; i < len; i++)
            {
                if (sym[i] != left || i + 1 >= len || sym[i + 1] != right)
                {
                    continue;
                }
                if (i > 0)
                {
                    Change(Pair(sym[i - 1], left), -1, w);
                    Change(Pair(sym[i - 1], replacement), 1, w);
                }
                sym[i] = replacement;
                Array.Copy(sym, i + 2, sym, i + 1, len - i - 2);
                len--;
                if (i < len - 1)
                {
                    Change(Pair(right, sym[i + 1]), -1, w);
                    Change(Pair(replacement, sym[i + 1]), 1, w);
                }
            }
            _lengths[w] = len;
        }

        private void Change(long pair, int change, int w)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(_pairCounts, pair, out _) += change * _counts[w];
            if (change > 0)
            {
                ref var set = ref CollectionsMarshal.GetValueRefOrAddDefault(_whereToUpdate, pair, out var exists);
                if (!exists)
                {
                    set = [];
                }
                set!.Add(w);
            }
        }

        /// <summary>Queues every pair that gained occurrences since the last call, with the words it gained them in.</summary>
        private void PushUpdated()
        {
            // Sorted so that queue insertion order (the FIFO tie-break) does not depend on hash order.
            var pairs = _whereToUpdate.Keys.ToArray();
            Array.Sort(pairs);
            foreach (var pair in pairs)
            {
                var count = _pairCounts[pair];
                if (count > 0)
                {
                    Enqueue(new Entry { Pair = pair, Count = count, Words = _whereToUpdate[pair] });
                }
            }
            _whereToUpdate.Clear();
        }

        private void Enqueue(Entry e)
        {
            e.Sequence = _sequence++;
            _queue.Enqueue(e, e);
        }
    }

    private sealed class Entry
    {
        public long Pair;
        public long Count;
        public long Sequence;
        public HashSet<int> Words = null!;
    }

    /// <summary>Highest count first, then the smallest (left, right) pair, then first in.</summary>
    private sealed class EntryOrder : IComparer<Entry>
    {
        public static readonly EntryOrder Instance = new();

        public int Compare(Entry? x, Entry? y)
        {
            if (x!.Count != y!.Count)
            {
                return y.Count.CompareTo(x.Count);
            }
            return x.Pair != y.Pair ? x.Pair.CompareTo(y.Pair) : x.Sequence.CompareTo(y.Sequence);
        }
    }
}

/// <summary>What <see cref="WordPieceTrainer.Train"/> produced.</summary>
/// <param name="Tokens">The vocabulary in id order (write one per line for <c>vocab.txt</c>).</param>
/// <param name="AlphabetSize">Characters of the initial alphabet added (one that is also a special token is that token).</param>
/// <param name="ContinuationTokens">Single-character <c>##c</c> tokens added.</param>
/// <param name="Merges">Merge steps taken (a merge that re-forms an existing token adds none).</param>
/// <param name="DistinctWords">Distinct words trained on.</param>
public sealed record WordPieceTrainingResult(
    IReadOnlyList<string> Tokens, int AlphabetSize, int ContinuationTokens, int Merges, int DistinctWords);
