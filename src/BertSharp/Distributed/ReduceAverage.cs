using TorchSharp;

namespace BertSharp.Distributed;

/// <summary>
/// Average as the backends compute it: they reduce with Sum (MPI has no average operation; NCCL has one only from 2.10), and
/// every backend then divides by the world size the same way, so that Average gives the same bits on MPI and NCCL.
/// </summary>
internal static class ReduceAverage
{
    /// <summary>Divides the summed <paramref name="tensor"/> (any shape, floating point) by <paramref name="worldSize"/> in place when <paramref name="op"/> is Average.</summary>
    public static void Finish(torch.Tensor tensor, ReduceOp op, int worldSize)
    {
        if (op != ReduceOp.Average || worldSize <= 1)
        {
            return;
        }
        using var noGrad = torch.no_grad();
        // An explicit Scalar that outlives the call: TorchSharp's implicit one can be freed by the GC during it.
        using var divisor = worldSize.ToScalar();
        tensor.div_(divisor);
    }
}
