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

    /// <summary>
    /// True while char k of the word came from the single UTF-16 unit <see cref="Start0"/> + k (ASCII and most text);
    /// <see cref="Starts"/>/<see cref="Ends"/> are then not filled, which keeps the hot loop to one store per char.
    /// </summary>
    public bool Identity;
    public int Start0;

    public int StartOf(int k) => Identity ? Start0 + k : Starts[k];

    public int EndOf(int k) => Identity ? Start0 + k + 1 : Ends[k];

    /// <summary>Small scratch for decomposition and case mapping of one code point.</summary>
    public readonly char[] Decomposed = new char[8];
    public readonly char[] Lowered = new char[8];

    /// <summary>
    /// The pending run of combining marks (nonzero combining class) of NFD, held until the next starter so that it can be put
    /// in canonical order: each mark's code point, class, whether it continues the decomposition of the previous code point
    /// (HF's "inserted" character) and the UTF-16 span of the code point it came from.
    /// </summary>
    public int RunLength;
    public int[] RunCp = new int[16];
    public int[] RunClass = new int[16];
    public bool[] RunInserted = new bool[16];
    public int[] RunStart = new int[16];
    public int[] RunEnd = new int[16];

    public void AddToRun(int cp, int cls, bool inserted, int start, int end)
    {
        if (RunLength == RunCp.Length)
        {
            var n = RunLength * 2;
            Array.Resize(ref RunCp, n);
            Array.Resize(ref RunClass, n);
            Array.Resize(ref RunInserted, n);
            Array.Resize(ref RunStart, n);
            Array.Resize(ref RunEnd, n);
        }
        RunCp[RunLength] = cp;
        RunClass[RunLength] = cls;
        RunInserted[RunLength] = inserted;
        RunStart[RunLength] = start;
        RunEnd[RunLength] = end;
        RunLength++;
    }

    [ThreadStatic]
    private static WordBuffer? t_current;

    public static WordBuffer ForThisThread() => t_current ??= new WordBuffer();

    public void Append(char c, int start, int end)
    {
        if (Length == Chars.Length)
        {
            Grow();
        }
        if (Length == 0)
        {
            Start0 = start;
            Identity = end == start + 1;
        }
        else if (Identity)
        {
            if (start == Start0 + Length && end == start + 1)
            {
                Chars[Length++] = c;
                return;
            }
            Materialize();
        }
        if (Identity)
        {
            Chars[Length++] = c;
            return;
        }
        Chars[Length] = c;
        Starts[Length] = start;
        Ends[Length] = end;
        Length++;
    }

    /// <summary>Appends a run of ASCII word characters that start at <paramref name="start"/> in the text.</summary>
    public void AppendAscii(ReadOnlySpan<char> run, int start, bool lower)
    {
        while (Length + run.Length > Chars.Length)
        {
            Grow();
        }
        if (Length == 0)
        {
            Start0 = start;
            Identity = true;
        }
        else if (Identity && start != Start0 + Length)
        {
            Materialize();
        }
        var dest = Chars.AsSpan(Length, run.Length);
        if (lower)
        {
            System.Text.Ascii.ToLower(run, dest, out _);
        }
        else
        {
            run.CopyTo(dest);
        }
        if (!Identity)
        {
            for (var k = 0; k < run.Length; k++)
            {
                Starts[Length + k] = start + k;
                Ends[Length + k] = start + k + 1;
            }
        }
        Length += run.Length;
        CodePoints += run.Length;
    }

    private void Materialize()
    {
        for (var k = 0; k < Length; k++)
        {
            Starts[k] = Start0 + k;
            Ends[k] = Start0 + k + 1;
        }
        Identity = false;
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
