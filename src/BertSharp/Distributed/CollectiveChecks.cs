using TorchSharp;

namespace BertSharp.Distributed;

/// <summary>Argument checks shared by every backend, so that a mistake fails the same way on one process as on many.</summary>
internal static class CollectiveChecks
{
    public static void CheckReduce(torch.Tensor tensor, ReduceOp op)
    {
        if (!Enum.IsDefined(op))
        {
            throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduce operation");
        }
        if (op == ReduceOp.Average && !tensor.is_floating_point())
        {
            throw new ArgumentException($"all-reduce Average needs a floating-point tensor; got {tensor.dtype} (use Sum and divide).", nameof(tensor));
        }
    }

    public static void CheckRoot(int root, int worldSize)
    {
        if (root < 0 || root >= worldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(root), root, $"broadcast root must be a rank in [0, {worldSize})");
        }
    }
}
