using System.Globalization;
using BertSharp.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Distributed;

/// <summary>
/// Data-parallel training over a <see cref="ICommunicator"/>: every rank holds the whole model, rank 0's parameters are
/// broadcast at the start, each rank runs forward/backward on its own slice of the global batch (<see cref="DataSharding"/>),
/// and between backward and gradient clipping the gradients are combined across ranks in flat buckets, so every rank
/// clips and steps the optimizer on identical gradients and the parameters stay identical without further traffic.
/// </summary>
public sealed class DataParallel : IDisposable
{
    private readonly List<(string Name, Tensor Parameter)> _parameters;
    private readonly long _bucketBytes;
    private readonly Dictionary<(ScalarType, string), Tensor> _staging = [];

    /// <param name="communicator">The group; with <see cref="LocalCommunicator"/> every operation is the identity.</param>
    /// <param name="parameters">The model's named parameters in the same order on every rank (e.g. <c>model.named_parameters()</c>).</param>
    /// <param name="bucketBytes">Largest bucket in bytes (<see cref="long.MaxValue"/>: one bucket per dtype and device); the
    /// staging buffer per dtype and device holds the largest bucket planned, which is at most this.</param>
    public DataParallel(ICommunicator communicator, IEnumerable<(string Name, Parameter Parameter)> parameters, long bucketBytes = GradientBuckets.DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketBytes);
        Communicator = communicator;
        _parameters = parameters.Select(p => (p.Name, (Tensor)p.Parameter)).ToList();
        _bucketBytes = bucketBytes;
    }

    /// <summary>The group this helper communicates over.</summary>
    public ICommunicator Communicator { get; }

    /// <summary>Number of bucketed all-reduces the last gradient synchronisation made (one more carries the bookkeeping).</summary>
    public int LastBucketCount { get; private set; }

    /// <summary>
    /// Overwrites every parameter on every rank with rank <paramref name="root"/>'s values (bucketed), so that ranks that
    /// initialised randomly or loaded different checkpoints start identical. First checks that all ranks hold the same
    /// parameter names, shapes and dtypes, and the same trainable ones (naming a parameter frozen on some ranks only).
    /// </summary>
    public void BroadcastParameters(int root = 0)
    {
        if (Communicator.WorldSize == 1)
        {
            return;
        }
        using var scope = NewDisposeScope();
        CheckSameModel();
        var tensors = _parameters.Select(p => p.Parameter).ToList();
        using var noGrad = no_grad();
        var buckets = GradientBuckets.Plan(tensors, _bucketBytes);
        foreach (var bucket in buckets)
        {
            var flat = Stage(buckets, bucket, i => tensors[i]);
            Communicator.Broadcast(flat, root);
            Unstage(bucket, flat, i => tensors[i]);
        }
    }

    /// <summary>
    /// Replaces each gradient by the weighted average over ranks, Σ_r w_r·g_r / Σ_r w_r, and returns Σ_r w_r. With
    /// w_r = the number of examples rank r's loss averaged over, the result is the gradient of the mean loss over the whole
    /// global batch, also when the ranks' slices differ in size (the uneven last batch). A rank with no examples passes 0.
    /// </summary>
    /// <param name="localWeight">This rank's weight (≥ 0); the sum over ranks must be positive.</param>
    public double AverageGradients(double localWeight = 1.0)
    {
        if (!(localWeight >= 0) || double.IsInfinity(localWeight))
        {
            throw new ArgumentOutOfRangeException(nameof(localWeight), localWeight, "must be a finite number >= 0");
        }
        return Synchronize(localWeight, average: true);
    }

    /// <summary>
    /// Replaces each gradient by its sum over ranks. For losses that each rank has already normalised by a global count
    /// (e.g. masked-LM tokens of the whole global batch, found with one all-reduce of the counts before forward), the sum is
    /// the gradient of the global loss.
    /// </summary>
    public void SumGradients() => Synchronize(1.0, average: false);

    /// <summary>
    /// Throws unless the trainable parameters among <paramref name="parameters"/> are, by reference, exactly the trainable
    /// parameters this helper holds: the gradients of any other would stay per-rank while the ranks step on them, and the
    /// ranks would drift apart without a word.
    /// </summary>
    /// <exception cref="InvalidOperationException">A trainable parameter passed is not held (named by its position and shape),
    /// or a trainable parameter held is not passed (named by its name).</exception>
    internal void CheckHoldsTrainable(IReadOnlyList<Parameter> parameters)
    {
        var held = _parameters.Where(p => p.Parameter.requires_grad).ToList();
        var heldSet = held.Select(p => p.Parameter).ToHashSet(ReferenceEqualityComparer.Instance);
        var passed = parameters.Where(p => p.requires_grad).ToList();
        for (var i = 0; i < passed.Count; i++)
        {
            if (!heldSet.Contains(passed[i]))
            {
                throw new InvalidOperationException(Invariant(
                    $"data-parallel gradient sync: trainable parameter {i} of the {passed.Count} to synchronise (shape {ShapeText.Join(passed[i].shape, "x")}) is not one the DataParallel was built over; build it over the trained model's NamedParameters(), after adding every head."));
            }
        }
        var passedSet = passed.ToHashSet<object>(ReferenceEqualityComparer.Instance);
        if (held.FirstOrDefault(p => !passedSet.Contains(p.Parameter)) is { Name: not null } extra)
        {
            throw new InvalidOperationException(Invariant(
                $"data-parallel gradient sync: the DataParallel holds {held.Count} trainable parameter{(held.Count == 1 ? "" : "s")} but {passed.Count} {(passed.Count == 1 ? "was" : "were")} passed; {extra.Name} is not among them."));
        }
    }

    /// <summary>Frees the staging buffers.</summary>
    public void Dispose()
    {
        foreach (var buffer in _staging.Values)
        {
            buffer.Dispose();
        }
        _staging.Clear();
    }

    private double Synchronize(double localWeight, bool average)
    {
        var trainable = _parameters.Where(p => p.Parameter.requires_grad).Select(p => p.Parameter).ToList();
        if (Communicator.WorldSize == 1)
        {
            LastBucketCount = 0;
            return localWeight;
        }
        // One small all-reduce agrees on the total weight and on which parameters have a gradient on some rank: a rank
        // that saw no examples (or whose graph did not reach a parameter) must still take part with zeros, or the ranks
        // would disagree on the bucket layout.
        var grads = new Tensor?[trainable.Count];
        using var scope = NewDisposeScope();
        var present = new double[trainable.Count + 1];
        for (var i = 0; i < trainable.Count; i++)
        {
            grads[i] = trainable[i].grad;
            present[i] = grads[i] is null ? 0 : 1;
        }
        present[^1] = localWeight;
        var agreed = tensor(present, ScalarType.Float64);
        Communicator.AllReduce(agreed);
        var counts = agreed.data<double>().ToArray();
        var total = counts[^1];
        if (average && !(total > 0))
        {
            throw new InvalidOperationException("AverageGradients: the ranks' weights sum to 0 (no rank saw an example in this step).");
        }
        var scale = average ? localWeight / total : 1.0;
        var reduced = new List<Tensor>();
        for (var i = 0; i < trainable.Count; i++)
        {
            if (counts[i] == 0)
            {
                continue;
            }
            if (grads[i] is null)
            {
                // TorchSharp has no grad setter; a backward pass through p·0 creates the zero gradient autograd would.
                using (enable_grad())
                {
                    trainable[i].mul(Modeling.StableScalars.Of(0L)).sum().backward();
                }
                grads[i] = trainable[i].grad;
            }
            reduced.Add(grads[i]!);
        }
        using var noGrad = no_grad();
        var buckets = GradientBuckets.Plan(reduced, _bucketBytes);
        foreach (var bucket in buckets)
        {
            var flat = Stage(buckets, bucket, i => reduced[i]);
            if (scale != 1.0)
            {
                // A per-step value, so not cached: an explicit Scalar that outlives the call (the GC can free an implicit one
                // during it, see StableScalars).
                using var factor = scale.ToScalar();
                flat.mul_(factor);
            }
            Communicator.AllReduce(flat, ReduceOp.Sum);
            Unstage(bucket, flat, i => reduced[i]);
        }
        LastBucketCount = buckets.Count;
        return total;
    }

    private void CheckSameModel()
    {
        // Every rank hashes its (name, shape, dtype) list; rank 0's hash is broadcast and compared.
        var signature = string.Join(";", _parameters.Select(p => $"{p.Name}:{ShapeText.Join(p.Parameter.shape, "x")}:{p.Parameter.dtype}"));
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(signature));
        using var mine = tensor(hash);
        using var rootHash = mine.clone();
        Communicator.Broadcast(rootHash, 0);
        var agree = rootHash.eq(mine).all().item<bool>() ? 1L : 0L;
        using var all = tensor(new[] { agree });
        Communicator.AllReduce(all, ReduceOp.Min);
        if (all.item<long>() == 0)
        {
            throw new BertSharpException(string.Create(CultureInfo.InvariantCulture, $"data-parallel start: the ranks hold different models ({_parameters.Count} parameters on rank " +
                                         $"{Communicator.Rank}); every rank must build the same configuration."));
        }
        // Only trainable parameters take part in gradient synchronisation, so a parameter frozen on some ranks only would
        // make them disagree at the first step without naming it. Flags, then their negations: one MPI_MAX gives both extremes.
        var count = _parameters.Count;
        if (count == 0)
        {
            return;
        }
        var flags = new long[2 * count];
        for (var i = 0; i < count; i++)
        {
            flags[i] = _parameters[i].Parameter.requires_grad ? 1 : 0;
            flags[count + i] = -flags[i];
        }
        using var extremes = tensor(flags);
        Communicator.AllReduce(extremes, ReduceOp.Max);
        var agreed = extremes.data<long>().ToArray();
        for (var i = 0; i < count; i++)
        {
            if (agreed[i] != -agreed[count + i])
            {
                throw new BertSharpException($"data-parallel start: parameter {_parameters[i].Name} is trainable (requires_grad) on some ranks and " +
                                             Invariant($"frozen on others ({(flags[i] == 1 ? "trainable" : "frozen")} on rank {Communicator.Rank}); every rank ") +
                                             "must freeze the same parameters.");
            }
        }
    }

    private Tensor Stage(IReadOnlyList<GradientBucket> plan, GradientBucket bucket, Func<int, Tensor> source)
    {
        var key = (bucket.DType, bucket.Device);
        if (!_staging.TryGetValue(key, out var buffer) || buffer.numel() < bucket.Elements)
        {
            buffer?.Dispose();
            var first = source(bucket.Slots[0].Index);
            // The plan's largest bucket of this dtype and device, not the limit: a limit above the model's size (one bucket
            // for everything) allocated the limit itself, and long.MaxValue failed inside libtorch.
            var elements = plan.Where(b => (b.DType, b.Device) == key).Max(b => b.Elements);
            // The staging buffer outlives the caller's dispose scope: it is reused by every step until Dispose.
            buffer = empty(elements, dtype: bucket.DType, device: first.device).DetachFromDisposeScope();
            _staging[key] = buffer;
        }
        var flat = buffer.narrow(0, 0, bucket.Elements);
        foreach (var slot in bucket.Slots)
        {
            flat.narrow(0, slot.Offset, slot.Count).copy_(source(slot.Index).reshape(-1));
        }
        return flat;
    }

    private static void Unstage(GradientBucket bucket, Tensor flat, Func<int, Tensor> target)
    {
        foreach (var slot in bucket.Slots)
        {
            var t = target(slot.Index);
            t.copy_(flat.narrow(0, slot.Offset, slot.Count).view(t.shape));
        }
    }
}
