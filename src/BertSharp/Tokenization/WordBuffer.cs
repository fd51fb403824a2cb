namespace BertSharp.Tokenization;

/// <summary>
/// Per-thread scratch for one normalised word: its UTF-16 chars, and for every char the UTF-16 span of the original
/// code point it came from (normalisation is per code point, so each output char has exactly one source).
/// </summary>
internal sealed class WordBuffer
{
    public char[] Chars = new char[128];
    public int[] Starts = new int[128];
    public int[] Ends = new int[128];
    public int[] PieceIds = new int[128];
    public int[] PieceEnds = new int[128];
    public int Length;
    public int CodePoints;

    /// <summary>Small scratch for decomposition and case mapping of one code point.</summary>
    public readonly char[] Decomposed = new char[8];
    public readonly char[] Lowered = new char[8];

    [ThreadStatic]
    private static WordBuffer? t_current;

    public static WordBuffer ForThisThread() => t_current ??= new WordBuffer();

    public void Append(char c, int start, int end)
    {
        if (Length == Chars.Length)
        {
            Grow();
        }
        Chars[Length] = c;
        Starts[Length] = start;
        Ends[Length] = end;
        Length++;
    }

    private void Grow()
    {
        var n = Chars.Length * 2;
        Array.Resize(ref Chars, n);
        Array.Resize(ref Starts, n);
        Array.Resize(ref Ends, n);
        Array.Resize(ref PieceIds, n);
        Array.Resize(ref PieceEnds, n);
    }
}

/// <summary>Receives the output of <see cref="TextSplitter"/>: normalised words and literal special tokens.</summary>
internal interface IWordSink
{
    /// <summary>A normalised word in <paramref name="word"/> (non-empty); its content is valid only during the call.</summary>
    void OnWord(WordBuffer word);

    /// <summary>A special token found literally at UTF-16 [<paramref name="start"/>, <paramref name="end"/>).</summary>
    void OnSpecial(int special, int start, int end);
}
