
namespace BertSharp.Data.Pretraining;

/// <summary>
/// A small seeded generator (xoshiro256**) with Python's <c>random</c> vocabulary (<c>random()</c>, <c>randint</c>,
/// <c>shuffle</c>), so the data pipeline reads like google-research/bert's and its whole state can be saved and restored
/// (unlike <see cref="Random"/>). Not thread-safe: every worker gets its own instance from <see cref="Derive"/>.
/// </summary>
internal sealed class PretrainingRng
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Seeds the state through SplitMix64, as the xoshiro authors recommend.</summary>
    public PretrainingRng(ulong seed)
    {
        var x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    private PretrainingRng(ulong[] state) => State = state;

    /// <summary>An independent stream for a sub-task (a file, an epoch, an instance) of a run seeded with <paramref name="seed"/>.</summary>
    public static PretrainingRng Derive(long seed, params long[] path)
    {
        var h = unchecked((ulong)seed) ^ 0x6A09E667F3BCC908UL;
        foreach (var p in path)
        {
            var x = h ^ unchecked((ulong)p * 0x9E3779B97F4A7C15UL);
            h = SplitMix(ref x);
        }
        return new PretrainingRng(h);
    }

    /// <summary>The four state words; assigning restores a saved generator exactly.</summary>
    public ulong[] State
    {
        get => [_s0, _s1, _s2, _s3];
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Length != 4 || (value[0] | value[1] | value[2] | value[3]) == 0)
            {
                throw new ArgumentException("expected four state words, not all zero", nameof(value));
            }
            (_s0, _s1, _s2, _s3) = (value[0], value[1], value[2], value[3]);
        }
    }

    /// <summary>A copy with the same state.</summary>
    public PretrainingRng Clone() => new(State);

    /// <summary>Next raw 64 bits.</summary>
    public ulong NextUInt64()
    {
        var result = RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 bits, like Python's <c>random()</c>.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [<paramref name="low"/>, <paramref name="high"/>] inclusive, like Python's <c>randint</c>.</summary>
    public int RandInt(int low, int high)
    {
        if (high < low)
        {
            throw new ArgumentOutOfRangeException(nameof(high), Invariant($"empty range [{low}, {high}]"));
        }
        return low + (int)Below((ulong)((long)high - low + 1));
    }

    /// <summary>Uniform integer in [0, <paramref name="n"/>).</summary>
    public int Below(int n) => n <= 0 ? throw new ArgumentOutOfRangeException(nameof(n)) : (int)Below((ulong)n);

    /// <summary>Fisher–Yates in place, walking from the end as Python's <c>shuffle</c> does.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = (int)Below((ulong)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    // Rejection sampling keeps the result exactly uniform (no modulo bias).
    private ulong Below(ulong n)
    {
        var limit = ulong.MaxValue - (ulong.MaxValue % n);
        ulong r;
        do
        {
            r = NextUInt64();
        }
        while (r >= limit);
        return r % n;
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        var z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
