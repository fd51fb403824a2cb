namespace BertSharp.Tokenization;

/// <summary>Per-thread growable buffer of word pieces (id, UTF-16 span in the source text, word index).</summary>
internal sealed class TokenBuffer
{
    public int[] Ids = new int[256];
    public int[] Starts = new int[256];
    public int[] Ends = new int[256];
    public int[] Words = new int[256];
    public int Count;

    [ThreadStatic]
    private static TokenBuffer? t_current;

    public static TokenBuffer ForThisThread() => t_current ??= new TokenBuffer();

    public void Add(int id, int start, int end, int word)
    {
        if (Count == Ids.Length)
        {
            Grow();
        }
        Ids[Count] = id;
        Starts[Count] = start;
        Ends[Count] = end;
        Words[Count] = word;
        Count++;
    }

    public void AddId(int id)
    {
        if (Count == Ids.Length)
        {
            Grow();
        }
        Ids[Count++] = id;
    }

    private void Grow()
    {
        var n = Ids.Length * 2;
        Array.Resize(ref Ids, n);
        Array.Resize(ref Starts, n);
        Array.Resize(ref Ends, n);
        Array.Resize(ref Words, n);
    }
}

/// <summary>Runs WordPiece on each word and records the pieces with their offsets in the original text.</summary>
internal struct CollectSink(WordPiece model, TokenBuffer output, int[] specialIds) : IWordSink
{
    private int _word;

    public void OnWord(WordBuffer w)
    {
        var n = model.Tokenize(w.Chars.AsSpan(0, w.Length), w.CodePoints, w.PieceIds, w.PieceEnds);
        var start = 0;
        for (var k = 0; k < n; k++)
        {
            var end = w.PieceEnds[k];
            output.Add(w.PieceIds[k], w.StartOf(start), w.EndOf(end - 1), _word);
            start = end;
        }
        _word++;
    }

    public void OnSpecial(int special, int start, int end) => output.Add(specialIds[special], start, end, _word++);
}

/// <summary>Records only the ids of the word pieces (the <see cref="BertTokenizer.EncodeIds"/> fast path).</summary>
internal readonly struct IdsSink(WordPiece model, TokenBuffer output, int[] specialIds) : IWordSink
{
    public void OnWord(WordBuffer w)
    {
        var n = model.Tokenize(w.Chars.AsSpan(0, w.Length), w.CodePoints, w.PieceIds, w.PieceEnds);
        for (var k = 0; k < n; k++)
        {
            output.AddId(w.PieceIds[k]);
        }
    }

    public void OnSpecial(int special, int start, int end) => output.AddId(specialIds[special]);
}

/// <summary>Counts word pieces without recording anything.</summary>
internal struct CountSink(WordPiece model) : IWordSink
{
    public int Count;

    public void OnWord(WordBuffer w) => Count += model.Count(w.Chars.AsSpan(0, w.Length), w.CodePoints);

    public void OnSpecial(int special, int start, int end) => Count++;
}
