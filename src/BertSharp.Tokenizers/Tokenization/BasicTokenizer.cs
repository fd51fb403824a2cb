namespace BertSharp.Tokenization;

/// <summary>A pre-token: normalised word text and the UTF-16 span [Start, End) of the original text it came from.</summary>
internal readonly record struct PreToken(string Text, int Start, int End);

/// <summary>
/// BERT's basic tokenization (HF <c>BertNormalizer</c> + <c>BertPreTokenizer</c>): cleans control characters, splits on
/// whitespace and punctuation, isolates CJK ideographs, optionally lowercases and strips accents. Strings in
/// <c>neverSplit</c> are kept verbatim where they occur literally in the text.
/// </summary>
internal sealed class BasicTokenizer
{
    private readonly TextSplitter _splitter;

    public BasicTokenizer(bool lowercase = true, bool? stripAccents = null, bool tokenizeChineseChars = true, IEnumerable<string>? neverSplit = null)
    {
        Options = new NormalizerOptions(HandleChineseChars: tokenizeChineseChars, StripAccents: stripAccents, Lowercase: lowercase);
        _splitter = new TextSplitter(Options, neverSplit?.ToArray() ?? []);
    }

    public NormalizerOptions Options { get; }

    /// <summary>Normalised words with their spans in <paramref name="text"/>.</summary>
    public IReadOnlyList<PreToken> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sink = new PreTokenSink(_splitter, []);
        _splitter.Split(text, WordBuffer.ForThisThread(), ref sink);
        return sink.Output;
    }

    private readonly struct PreTokenSink(TextSplitter splitter, List<PreToken> output) : IWordSink
    {
        public List<PreToken> Output => output;

        public void OnWord(WordBuffer w) =>
            output.Add(new PreToken(new string(w.Chars, 0, w.Length), w.StartOf(0), w.EndOf(w.Length - 1)));

        public void OnSpecial(int special, int start, int end) => output.Add(new PreToken(splitter.Specials[special], start, end));
    }
}
