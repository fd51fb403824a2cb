using System.Text;
using BertSharp.IO;

namespace BertSharp.Tokenization;

/// <summary>
/// A WordPiece vocabulary: token strings and their ids (the line number in <c>vocab.txt</c>). Lookups by
/// <see cref="ReadOnlySpan{T}"/> allocate nothing.
/// </summary>
public sealed class Vocabulary
{
    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    /// <summary>What <see cref="Source"/> is for a vocabulary built in memory.</summary>
    private const string InMemory = "vocabulary";

    /// <summary>Builds a vocabulary from tokens in id order; throws <see cref="BertSharpException"/> on a duplicate.</summary>
    public Vocabulary(IEnumerable<string> tokens, string source = InMemory)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        Source = source == InMemory ? null : source;
        _tokens = tokens.ToArray();
        _ids = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (var i = 0; i < _tokens.Length; i++)
        {
            if (_tokens[i] is null)
            {
                // Else the dictionary's ArgumentNullException, which names its own parameter 'key'.
                throw new ArgumentException(Invariant($"{source}: token {i} is null; every id needs a token."), nameof(tokens));
            }
            if (!_ids.TryAdd(_tokens[i], i))
            {
                throw new BertSharpException(
                    Invariant($"{LineRef.At(source, i + 1)}: duplicate token '{_tokens[i]}' (first on line {_ids[_tokens[i]] + 1}); every token must be unique."));
            }
        }
        _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// The largest vocab.txt <see cref="Load"/> reads, in bytes: 64 MiB, four million tokens of 16 bytes, where the largest
    /// BERT vocabularies (multilingual, 120,000 tokens) take under 2 MB.
    /// </summary>
    internal const long MaxFileBytes = 64L << 20;

    /// <summary>
    /// Loads <c>vocab.txt</c> (UTF-8, one token per line, id = line index). Only the line break (LF, CRLF or CR) ends a
    /// token, so a token keeps trailing spaces, as transformers' <c>load_vocab</c> reads the file. Invalid UTF-8 or a
    /// duplicate token is a <see cref="BertSharpException"/>.
    /// </summary>
    public static Vocabulary Load(string vocabTxtPath)
    {
        string text;
        try
        {
            using var reader = new StreamReader(vocabTxtPath, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true);
            text = TextLines.ReadToEnd(reader, vocabTxtPath, MaxFileBytes, "a vocab.txt");
        }
        catch (DecoderFallbackException)
        {
            throw new BertSharpException($"{vocabTxtPath}: not valid UTF-8; a vocabulary must be a UTF-8 text file with one token per line.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The system's message quotes the file's full path, which the line names already, as the caller gave it.
            throw new BertSharpException($"{vocabTxtPath}: cannot read the vocabulary ({AtomicFile.SystemFailure(e).Reason}).", e);
        }
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }
        // transformers reads the file with Python's universal newlines and strips the "\n" alone (load_vocab), which is what
        // AutoTokenizer does with a checkpoint holding vocab.txt alone; trimming all trailing whitespace (HF tokenizers'
        // WordPiece.from_file) would make "a " the token "a" and a vocabulary holding both a duplicate.
        var lines = text.Split(["\r\n", "\r", "\n"], StringSplitOptions.None);
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        var tokens = lines[..count];
        if (count == 0)
        {
            throw new BertSharpException($"{vocabTxtPath}: the vocabulary is empty.");
        }
        return new Vocabulary(tokens, vocabTxtPath);
    }

    /// <summary>Number of tokens.</summary>
    public int Count => _tokens.Length;

    /// <summary>
    /// The file the tokens were read from (<c>vocab.txt</c>, <c>tokenizer.json</c>), or null for one built in memory: the
    /// tokenizer's later refusals name it, as the loaders' do.
    /// </summary>
    internal string? Source { get; }

    /// <summary>Tokens in id order.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>The id of <paramref name="token"/>; throws <see cref="KeyNotFoundException"/> when it is not in the vocabulary.</summary>
    public int this[string token] =>
        _ids.TryGetValue(token, out var id) ? id : throw new KeyNotFoundException($"token '{token}' is not in the vocabulary");

    /// <summary>The token with id <paramref name="id"/>; throws <see cref="ArgumentOutOfRangeException"/> outside 0..<see cref="Count"/> - 1.</summary>
    public string this[int id] => (uint)id < (uint)_tokens.Length
        ? _tokens[id]
        : throw new ArgumentOutOfRangeException(nameof(id), id, Invariant($"id {id} is not in the vocabulary (ids 0..{_tokens.Length - 1})."));

    /// <summary>
    /// Looks <paramref name="token"/> up (ordinal, case-sensitive); <paramref name="id"/> is its id, or 0 when the
    /// method returns false.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="token"/> is null.</exception>
    public bool TryGetId(string token, out int id) => _ids.TryGetValue(token, out id);

    /// <summary>Allocation-free lookup of a span.</summary>
    public bool TryGetId(ReadOnlySpan<char> token, out int id) => _lookup.TryGetValue(token, out id);

    /// <summary>Whether <paramref name="token"/> is in the vocabulary (ordinal, case-sensitive).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="token"/> is null.</exception>
    public bool Contains(string token) => _ids.ContainsKey(token);

    /// <summary>
    /// Writes <c>vocab.txt</c> atomically (one token per line, LF, UTF-8 without BOM). A token holding a line break (LF or
    /// CR) is a <see cref="BertSharpException"/> and nothing is written: the file would read back as two tokens.
    /// </summary>
    public void Save(string path)
    {
        var sb = new StringBuilder(_tokens.Length * 8);
        for (var i = 0; i < _tokens.Length; i++)
        {
            if (_tokens[i].AsSpan().IndexOfAny('\n', '\r') >= 0)
            {
                throw new BertSharpException(
                    Invariant($"{path}: token {i} ('{SafeText.Escape(_tokens[i])}') holds a line break; vocab.txt has one token per line, so it cannot be written."));
            }
            sb.Append(_tokens[i]).Append('\n');
        }
        AtomicFile.WriteAllText(path, sb.ToString());
    }
}
