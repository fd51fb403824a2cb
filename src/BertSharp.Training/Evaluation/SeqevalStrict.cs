namespace BertSharp.Evaluation;

/// <summary>
/// seqeval's strict mode (<c>seqeval.scheme.Tokens.entities</c>): an entity counts only when its tags form a whole chunk of
/// the scheme, begun by a tag that may begin one after the tag before it, continued by tags of its type that may follow,
/// and ended where the scheme lets it end; the tags of a chunk that is not ended so are no entity at all. A tag whose first
/// letter is not one of the scheme's prefixes is an error, as seqeval raises on it.
/// </summary>
public static class SeqevalStrict
{
    /// <summary>The entities of one tag sequence read by <paramref name="scheme"/>'s rules (prefix tags such as <c>B-PER</c>).</summary>
    /// <param name="tags">The tags.</param>
    /// <param name="scheme">The scheme.</param>
    /// <param name="source">What the tags are, for the error about a tag outside the scheme (a file, a model, a parameter).</param>
    public static List<EntityChunk> Entities(IReadOnlyList<string> tags, SeqevalScheme scheme, string source)
    {
        ArgumentNullException.ThrowIfNull(tags);
        var rules = Rules.Of(scheme);
        Check(tags, scheme, rules.Prefixes, source);
        // seqeval appends an O: every chunk then meets a tag that is not inside it.
        var tokens = tags.Append("O").Select(t => new Token(t[0], Type(t))).ToArray();
        var chunks = new List<EntityChunk>();
        var prev = new Token('O', "_");
        var i = 0;
        while (i < tokens.Length)
        {
            if (rules.Starts(prev, tokens[i]))
            {
                var end = i + 1;
                while (rules.Continues(tokens[end - 1], tokens[end]))
                {
                    end++;
                }
                if (rules.Ends(tokens[end - 1], tokens[end]))
                {
                    chunks.Add(new EntityChunk(tokens[i].Type, i, end - 1));
                }
                // As seqeval: the tags of a chunk that did not end are skipped, not read again as the start of another.
                i = end;
            }
            else
            {
                i++;
            }
            prev = tokens[i - 1];
        }
        return chunks;
    }

    /// <summary>Throws, naming the tag, the scheme and <paramref name="source"/>, when a tag's first letter is not one of the scheme's prefixes.</summary>
    /// <param name="tags">The tags (a model's labels, a file's tags).</param>
    /// <param name="scheme">The scheme.</param>
    /// <param name="source">What the tags are (a file, a model), as the message names them.</param>
    public static void Check(IEnumerable<string> tags, SeqevalScheme scheme, string source)
    {
        ArgumentNullException.ThrowIfNull(tags);
        Check(tags, scheme, Rules.Of(scheme).Prefixes, source);
    }

    private static void Check(IEnumerable<string> tags, SeqevalScheme scheme, string prefixes, string source)
    {
        if (tags.FirstOrDefault(t => t.Length == 0 || !prefixes.Contains(t[0], StringComparison.Ordinal)) is { } bad)
        {
            var named = string.Join(", ", prefixes.Where(c => c != 'O').Select(c => $"{c}-TYPE"));
            throw new BertSharpException($"{source}: tag '{bad}' is not a tag of the {scheme} scheme, whose tags are {named} and O.");
        }
    }

    // seqeval's type: the tag after its prefix letter, without leading or trailing '-', "_" when nothing is left.
    private static string Type(string tag) => tag[1..].Trim('-') is { Length: > 0 } type ? type : "_";

    private readonly record struct Token(char Prefix, string Type);

    /// <summary>A scheme's prefixes and its start, inside and end patterns (seqeval's, over the previous and current tag).</summary>
    private sealed record Rules(string Prefixes, Func<Token, Token, bool> Starts, Func<Token, Token, bool> Continues, Func<Token, Token, bool> Ends)
    {
        private static readonly Rules Iob2 = new("BIO",
            (_, t) => t.Prefix == 'B',
            (p, t) => p.Type == t.Type && p.Prefix is 'B' or 'I' && t.Prefix == 'I',
            (p, t) => p.Prefix is 'B' or 'I' && (t.Prefix is 'O' or 'B' || (t.Prefix == 'I' && p.Type != t.Type)));

        // IOE2 has no begin tag: a chunk begins at an I-X or E-X after O or E-, or after an I- of another type.
        private static readonly Rules Ioe2 = new("IOE",
            (p, t) => t.Prefix is 'I' or 'E' && (p.Prefix is 'O' or 'E' || p.Type != t.Type),
            (p, t) => p.Type == t.Type && p.Prefix == 'I' && t.Prefix is 'I' or 'E',
            (p, _) => p.Prefix == 'E');

        private static readonly Rules Iobes = Closed('B', 'I', 'E', 'S');

        private static readonly Rules Bilou = Closed('B', 'I', 'L', 'U');

        public static Rules Of(SeqevalScheme scheme) => scheme switch
        {
            SeqevalScheme.IOB2 => Iob2,
            SeqevalScheme.IOE2 => Ioe2,
            SeqevalScheme.IOBES => Iobes,
            SeqevalScheme.BILOU => Bilou,
            _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "not a seqeval scheme"),
        };

        // IOBES and BILOU: an entity is a begin tag, inside tags and a last tag of one type, or a single unit tag.
        private static Rules Closed(char begin, char inside, char last, char unit) => new(new string([begin, inside, 'O', last, unit]),
            (_, t) => t.Prefix == begin || t.Prefix == unit,
            (p, t) => p.Type == t.Type && (p.Prefix == begin || p.Prefix == inside) && (t.Prefix == inside || t.Prefix == last),
            (p, _) => p.Prefix == last || p.Prefix == unit);
    }
}
