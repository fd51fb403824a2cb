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

    /// <summary>Counts the words that <paramref name="split"/> yields for each line.</summary>
    /// <param name="lines">The corpus, one text per line.</param>
    /// <param name="split">Splits one line into words (for WordPiece training: the BERT pre-tokenizer).</param>
    /// <param name="threads">Worker threads; 0 or less means one per core.</param>
    public static Dictionary<string, long> Count(IEnumerable<string> lines, Func<string, IEnumerable<string>> split, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(split);
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
                    foreach (var word in split(line))
                    {
                        CollectionsMarshal.GetValueRefOrAddDefault(local, word, out _)++;
                    }
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
