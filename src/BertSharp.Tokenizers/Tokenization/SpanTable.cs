namespace BertSharp.Tokenization;

/// <summary>
/// Read-only string → id hash table looked up by <see cref="ReadOnlySpan{T}"/>: FNV-1a over UTF-16 units and chained
/// buckets in flat arrays. Built once per vocabulary; cheaper per lookup than a randomized-hash Dictionary, which is
/// what WordPiece spends most of its time on.
/// </summary>
internal sealed class SpanTable
{
    private readonly int[] _buckets;
    private readonly Entry[] _entries;
    private readonly int _mask;

    public SpanTable(IEnumerable<KeyValuePair<string, int>> items)
    {
        var list = items.ToList();
        var size = 16;
        while (size < list.Count * 2)
        {
            size <<= 1;
        }
        _mask = size - 1;
        _buckets = new int[size];
        _entries = new Entry[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            var h = Hash(list[i].Key);
            ref var b = ref _buckets[h & (uint)_mask];
            _entries[i] = new Entry(list[i].Key, list[i].Value, h, b - 1);
            b = i + 1;
        }
    }

    public int Count => _entries.Length;

    public bool TryGetValue(ReadOnlySpan<char> key, out int value) => TryGetValue(key, Finish(Seed(key)), out value);

    /// <summary>Lookup with a hash already computed by <see cref="Step"/>/<see cref="Finish"/> (prefix hashing in WordPiece).</summary>
    public bool TryGetValue(ReadOnlySpan<char> key, uint h, out int value)
    {
        var i = _buckets[h & (uint)_mask] - 1;
        var entries = _entries;
        while ((uint)i < (uint)entries.Length)
        {
            ref readonly var e = ref entries[i];
            if (e.Hash == h && key.SequenceEqual(e.Key))
            {
                value = e.Value;
                return true;
            }
            i = e.Next;
        }
        value = -1;
        return false;
    }

    private static uint Hash(ReadOnlySpan<char> s) => Finish(Seed(s));

    public const uint Basis = 2166136261u;

    /// <summary>FNV-1a state after <paramref name="s"/>; <see cref="Step"/> extends it by one char.</summary>
    private static uint Seed(ReadOnlySpan<char> s)
    {
        var h = Basis;
        foreach (var c in s)
        {
            h = Step(h, c);
        }
        return h;
    }

    public static uint Step(uint h, char c) => (h ^ c) * 16777619u;

    public static uint Finish(uint h) => h ^ (h >> 15);

    private readonly record struct Entry(string Key, int Value, uint Hash, int Next);
}
