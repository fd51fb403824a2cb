using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace BertSharp.Tokenization.Training;

/// <summary>
/// Counts the words of a corpus in parallel: lines are read by one thread and split into words by
/// <c>threads</c> workers, each with its own table, merged at the end (the totals do not depend on scheduling).
/// </summary>
public static class WordCounter
{
    private const int LinesPerChunk = 256;

    /// <summary>
    /// Counts the words of BERT's pre-tokenization (HF <c>BertNormalizer</c> + <c>BertPreTokenizer</c>, i.e.
    /// <see cref="BasicTokenizer"/>) line by line, as HF's trainer does before WordPiece training.
    /// </summary>
    /// <param name="lines">The corpus, one text per line.</param>
    /// <param name="normalizer">Lowercasing, accent stripping, CJK and cleaning settings.</param>
    /// <param name="threads">Worker threads; 0 or less means one per core.</param>
    public static Dictionary<string, long> CountBertWords(IEnumerable<string> lines, NormalizerOptions normalizer, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(normalizer);
        var splitter = new TextSplitter(normalizer, []);
        return Count(lines, threads, (line, table) =>
        {
            var sink = new CountingSink(table.GetAlternateLookup<ReadOnlySpan<char>>());
            splitter.Split(line, WordBuffer.ForThisThread(), ref sink);
        });
    }

    /// <summary>Counts the words that <paramref name="split"/> yields for each line.</summary>
    /// <param name="lines">The corpus, one text per line.</param>
    /// <param name="split">Splits one line into words.</param>
    /// <param name="threads">Worker threads; 0 or less means one per core.</param>
    public static Dictionary<string, long> Count(IEnumerable<string> lines, Func<string, IEnumerable<string>> split, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(split);
        return Count(lines, threads, (line, table) =>
        {
            foreach (var word in split(line))
            {
                CollectionsMarshal.GetValueRefOrAddDefault(table, word, out _)++;
            }
        });
    }

    private static Dictionary<string, long> Count(IEnumerable<string> lines, int threads, Action<string, Dictionary<string, long>> addLine)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var partials = new ConcurrentBag<Dictionary<string, long>>();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        Parallel.ForEach(
            lines.Chunk(LinesPerChunk),
            parallel,
            () => new Dictionary<string, long>(StringComparer.Ordinal),
            (chunk, state, local) =>
            {
                foreach (var line in chunk)
                {
                    addLine(line, local);
                }
                return local;
            },
            partials.Add);

        // Merge the smaller tables into the largest one.
        var tables = partials.OrderByDescending(p => p.Count).ToList();
        if (tables.Count == 0)
        {
            return new Dictionary<string, long>(StringComparer.Ordinal);
        }
        var total = tables[0];
        foreach (var part in tables.Skip(1))
        {
            AddInto(total, part);
        }
        return total;
    }

    private static void AddInto(Dictionary<string, long> total, Dictionary<string, long> part)
    {
        foreach (var (word, count) in part)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(total, word, out _) += count;
        }
    }
}

/// <summary>Adds one to a word's count without allocating a string for words already seen.</summary>
internal readonly struct CountingSink(Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> table) : IWordSink
{
    public void OnWord(WordBuffer word) =>
        CollectionsMarshal.GetValueRefOrAddDefault(table, word.Chars.AsSpan(0, word.Length), out _)++;

    public void OnSpecial(int special, int start, int end) =>
        throw new InvalidOperationException("word counting splits without special tokens");
}
