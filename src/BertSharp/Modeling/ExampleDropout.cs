using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>
/// Opt-in dropout whose mask for an element depends only on (seed, step, dropout call, the example's global index, the
/// element's coordinates inside the example), not on the batch the example is in, its row, its padding or any generator's
/// position. Data-parallel training needs this to give the same result however a global batch is split over ranks (and
/// after a resume on a different number of ranks): with libtorch's dropout an example's mask depends on how many random
/// numbers were drawn before it in its batch. Outside a <see cref="Use"/> scope every BERT module uses libtorch's dropout
/// as before (HF's behaviour and random stream).
/// </summary>
/// <remarks>
/// The mask is a counter-based hash (murmur-style 32-bit mixing) of those values, computed with int64 tensor ops on the
/// tensor's device: keep when hash ≥ p·2³², scale kept values by 1 / (1 − p), as <c>nn.Dropout</c> does. Each module's
/// calls are numbered in forward order, which is the same on every rank. Attention-probability dropout is applied to the
/// eager attention kernel (SDPA draws its own mask), so the scope switches attention to eager while training.
/// </remarks>
public static class ExampleDropout
{
    private const long Mask32 = 0xFFFFFFFFL;

    [ThreadStatic]
    private static Scope? _current;

    /// <summary>Whether a scope is active on this thread (BERT modules then use the keyed mask while training).</summary>
    public static bool Active => _current is not null;

    /// <summary>
    /// Makes the BERT modules' dropout (while training) keyed by example on this thread until the result is disposed.
    /// </summary>
    /// <param name="seed">The run's seed.</param>
    /// <param name="step">The optimizer step (1-based), so that an example seen again gets a new mask.</param>
    /// <param name="exampleIds">Global index of each row of the batch (e.g. its position in the data), in row order.</param>
    public static IDisposable Use(long seed, long step, IReadOnlyList<long> exampleIds)
    {
        ArgumentNullException.ThrowIfNull(exampleIds);
        var scope = new Scope(Mix(Mix(Mix((uint)seed ^ 0x2545F491u) ^ (uint)(seed >> 32)) ^ (uint)step) ^ (uint)(step >> 32), [.. exampleIds], _current);
        _current = scope;
        return scope;
    }

    /// <summary><paramref name="module"/>'s dropout of <paramref name="x"/> ([batch, ...]): keyed inside a scope while training, libtorch's otherwise.</summary>
    public static Tensor Apply(Dropout module, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(x);
        if (_current is not { } scope || !module.training || module.p <= 0)
        {
            return module.call(x);
        }
        return scope.Drop(x, module.p);
    }

    /// <summary>The keyed mask itself: x·keep/(1−p) for x [batch, ...] whose rows are the scope's examples.</summary>
    internal static Tensor Keyed(Tensor x, double p, uint callKey, long[] exampleIds)
    {
        if (x.shape[0] != exampleIds.Length)
        {
            throw new InvalidOperationException(Invariant($"example dropout: the tensor has {x.shape[0]} rows but the scope names {exampleIds.Length} examples."));
        }
        if (p >= 1)
        {
            return zeros_like(x);
        }
        using var scope = NewDisposeScope();
        var dims = x.shape;
        long[] Along(int d)
        {
            var s = Enumerable.Repeat(1L, dims.Length).ToArray();
            s[d] = dims[d];
            return s;
        }
        var ids = tensor(exampleIds, device: x.device);
        var h = Hash(Hash(ids.bitwise_and(Mask32).bitwise_xor((long)callKey)).bitwise_xor(ids.bitwise_right_shift(32).bitwise_and(Mask32)))
            .view(Along(0));
        for (var d = 1; d < dims.Length; d++)
        {
            var coord = StableScalars.Range(dims[d], ScalarType.Int64, x.device).view(Along(d));
            // (h + (coord + 1)·golden) mod 2³²: a different offset per coordinate, then a full mix.
            h = Hash(StableScalars.Add(h, StableScalars.Add(coord, StableScalars.Of(1L)).mul(StableScalars.Of(0x9E3779B1L))).bitwise_and(Mask32));
        }
        var keep = h.ge(StableScalars.Of((long)Math.Floor(p * 4294967296.0)));
        // A bf16 (or float16) x is scaled in float32 and rounded once, as libtorch's native_dropout and CUDA's fused kernel
        // do: a mask of x's dtype rounds 1 / (1 − p) first (1.109375 for p = 0.1 in bf16), which shrinks every kept value
        // of a bf16 Linear's output (MixedPrecision) by 0.16 %.
        var reduced = x.dtype is ScalarType.BFloat16 or ScalarType.Float16;
        var scaled = x.mul(keep.to_type(reduced ? ScalarType.Float32 : x.dtype).mul(StableScalars.Of(1.0 / (1.0 - p))));
        return (reduced ? scaled.to_type(x.dtype) : scaled).MoveToOuterDisposeScope();
    }

    /// <summary>A 32-bit integer mix (lowbias32's shape with multipliers below 2³¹, so no int64 product overflows).</summary>
    private static Tensor Hash(Tensor h)
    {
        // Integer Scalars that the GC cannot free during the call (see StableScalars); shifts and masks take tensors, which
        // the caller's dispose scope holds.
        h = h.bitwise_xor(h.bitwise_right_shift(16)).mul(StableScalars.Of(0x7FEB352DL)).bitwise_and(Mask32);
        h = h.bitwise_xor(h.bitwise_right_shift(15)).mul(StableScalars.Of(0x31848BABL)).bitwise_and(Mask32);
        return h.bitwise_xor(h.bitwise_right_shift(16));
    }

    private static uint Mix(uint h)
    {
        unchecked
        {
            h ^= h >> 16;
            h *= 0x7FEB352Du;
            h ^= h >> 15;
            h *= 0x31848BABu;
            return h ^ (h >> 16);
        }
    }

    private sealed class Scope(uint key, long[] exampleIds, Scope? outer) : IDisposable
    {
        private uint _calls;

        public Tensor Drop(Tensor x, double p) => Keyed(x, p, Mix(key ^ Mix(++_calls)), exampleIds);

        public void Dispose()
        {
            if (ReferenceEquals(_current, this))
            {
                _current = outer;
            }
        }
    }
}
