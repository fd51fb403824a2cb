using BertSharp.Modeling;
using TorchSharp;

namespace BertSharp.Distributed;

/// <summary>Argument checks shared by every backend, so that a mistake fails the same way on one process as on many.</summary>
internal static class CollectiveChecks
{
    public static void CheckReduce(torch.Tensor tensor, ReduceOp op)
    {
        CheckWritable(tensor, "all-reduce");
        if (!Enum.IsDefined(op))
        {
            throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduce operation");
        }
        if (op == ReduceOp.Average && !tensor.is_floating_point())
        {
            throw new ArgumentException($"all-reduce Average needs a floating-point tensor; got {tensor.dtype} (use Sum and divide).", nameof(tensor));
        }
    }

    /// <summary>
    /// Refuses a tensor whose elements share memory (an <c>expand</c>ed view, stride 0): the result could not be written
    /// back into it, and libtorch said so with a native stack trace after the data had already travelled.
    /// </summary>
    public static void CheckWritable(torch.Tensor tensor, string what)
    {
        var shape = tensor.shape;
        var strides = tensor.stride();
        for (var d = 0; d < shape.Length; d++)
        {
            if (strides[d] == 0 && shape[d] > 1)
            {
                throw new ArgumentException(Invariant($"{what} writes its result into the tensor, but dimension {d} of [{ShapeText.Join(shape)}] ") +
                                            "repeats one element (an expanded view, stride 0); pass tensor.clone() or contiguous().", nameof(tensor));
            }
        }
    }

    public static void CheckRoot(int root, int worldSize)
    {
        if (root < 0 || root >= worldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, Invariant($"broadcast root must be a rank in [0, {worldSize})"));
        }
    }
}

/// <summary>Which collective a rank is about to make (numbered for <see cref="CollectiveCall"/>'s agreement).</summary>
internal enum CollectiveKind
{
    Barrier = 1,
    AllReduce = 2,
    Broadcast = 3,
    Finalize = 4,
}

/// <summary>
/// One rank's collective call as the ranks compare it before data moves: the kind, the tensor's dtype and element count,
/// and the reduce operation (all-reduce) or the root (broadcast).
/// </summary>
internal readonly record struct CollectiveCall(CollectiveKind Kind, torch.ScalarType DType, long Count, int Detail)
{
    public static CollectiveCall Barrier => new(CollectiveKind.Barrier, default, 0, 0);

    public static CollectiveCall Finalize => new(CollectiveKind.Finalize, default, 0, 0);

    /// <summary>The values the ranks compare, in <see cref="Disagreement"/>'s order.</summary>
    public long[] Fields() => [(long)Kind, (long)DType, Count, Detail];

    /// <summary>
    /// What differs between this call and another rank's, given each field's maximum over the ranks followed by its
    /// negated minimum (an MPI_MAX of <see cref="Fields"/> and their negations); null when every rank makes this call.
    /// The first differing field is named (with the kinds differing, the other fields are not comparable).
    /// </summary>
    public string? Disagreement(ReadOnlySpan<long> maxThenNegatedMin)
    {
        var fields = Fields();
        for (var i = 0; i < fields.Length; i++)
        {
            var (max, min) = (maxThenNegatedMin[i], -maxThenNegatedMin[fields.Length + i]);
            if (max == min)
            {
                continue;
            }
            var other = fields[i] == max ? min : max;
            return i switch
            {
                0 => $"this rank called {Name(Kind)}, another {Name((CollectiveKind)other)}",
                1 => $"{DType} values on this rank, {(torch.ScalarType)other} on another",
                2 => Invariant($"{Count} values on this rank, {other} on another"),
                _ => Kind == CollectiveKind.AllReduce
                    ? $"reduce operation {(ReduceOp)Detail} on this rank, {(ReduceOp)other} on another"
                    : Invariant($"root {Detail} on this rank, {other} on another"),
            };
        }
        return null;
    }

    private static string Name(CollectiveKind kind) => kind switch
    {
        CollectiveKind.Barrier => "barrier",
        CollectiveKind.AllReduce => "all-reduce",
        CollectiveKind.Broadcast => "broadcast",
        CollectiveKind.Finalize => "finalize (Dispose)",
        _ => Invariant($"an unknown collective ({(int)kind})"),
    };
}
