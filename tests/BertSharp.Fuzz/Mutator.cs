namespace BertSharp.Fuzz;

/// <summary>
/// Byte-level mutations in the style of libFuzzer's: bit flips, interesting values, insertions, deletions, duplicated
/// chunks, splices with another seed. Deterministic for a seed; every mutation keeps the input under a size cap.
/// </summary>
public sealed class Mutator(Random random, int maxBytes = 1 << 16)
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, (byte)'\n', (byte)'\r', (byte)'\t', (byte)',', (byte)'"', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)'\\', 0xC0, 0xED, 0xF4, 0xEF];

    public Random Random { get; } = random;

    /// <summary>One to eight stacked mutations of <paramref name="seed"/> (which is not modified).</summary>
    public byte[] Mutate(byte[] seed, IReadOnlyList<byte[]> corpus)
    {
        var data = new List<byte>(seed);
        // Mostly one or two mutations (structured formats stay parseable further), sometimes up to eight.
        var rounds = 1 + Random.Next(1 + Random.Next(8));
        for (var r = 0; r < rounds; r++)
        {
            switch (Random.Next(9))
            {
                case 0 when data.Count > 0:
                {
                    var bit = Random.Next(data.Count * 8);
                    data[bit / 8] ^= (byte)(1 << (bit % 8));
                    break;
                }
                case 1 when data.Count > 0:
                    data[Random.Next(data.Count)] = Interesting[Random.Next(Interesting.Length)];
                    break;
                case 2:
                    data.Insert(Random.Next(data.Count + 1), Interesting[Random.Next(Interesting.Length)]);
                    break;
                case 3 when data.Count > 0:
                {
                    var from = Random.Next(data.Count);
                    data.RemoveRange(from, Math.Min(data.Count - from, 1 + Random.Next(16)));
                    break;
                }
                case 4 when data.Count > 0:
                {
                    // Duplicate a chunk (repeats are what budgets and loops are about).
                    var from = Random.Next(data.Count);
                    var len = Math.Min(data.Count - from, 1 + Random.Next(64));
                    var chunk = data.GetRange(from, len);
                    var times = 1 + Random.Next(Random.Next(4) == 0 ? 200 : 4);
                    var to = Random.Next(data.Count + 1);
                    for (var t = 0; t < times && data.Count + len <= maxBytes; t++)
                    {
                        data.InsertRange(to, chunk);
                    }
                    break;
                }
                case 5 when corpus.Count > 0:
                {
                    var other = corpus[Random.Next(corpus.Count)];
                    if (other.Length > 0)
                    {
                        var from = Random.Next(other.Length);
                        var len = Math.Min(other.Length - from, 1 + Random.Next(256));
                        data.InsertRange(Random.Next(data.Count + 1), other.AsSpan(from, len).ToArray());
                    }
                    break;
                }
                case 6 when data.Count >= 4:
                {
                    // Overwrite a little-endian integer with a boundary value (sizes, counts, offsets).
                    var at = Random.Next(data.Count - 3);
                    var v = Random.Next(6) switch { 0 => 0, 1 => -1, 2 => int.MaxValue, 3 => int.MinValue, 4 => 1 << Random.Next(31), _ => Random.Next() };
                    var b = BitConverter.GetBytes(v);
                    for (var k = 0; k < 4; k++)
                    {
                        data[at + k] = b[k];
                    }
                    break;
                }
                case 7 when data.Count > 1:
                    data.RemoveRange(Random.Next(data.Count), 1);
                    break;
                default:
                    data.Add((byte)Random.Next(256));
                    break;
            }
        }
        if (data.Count > maxBytes)
        {
            data.RemoveRange(maxBytes, data.Count - maxBytes);
        }
        return [.. data];
    }
}
