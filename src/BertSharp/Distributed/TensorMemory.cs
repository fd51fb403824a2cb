using System.Runtime.InteropServices;
using TorchSharp;

namespace BertSharp.Distributed;

/// <summary>
/// The address of a tensor's first element, for handing tensors to MPI and NCCL without copying. TorchSharp keeps its
/// storage pointer internal, so this asks LibTorchSharp (already loaded by TorchSharp) directly.
/// </summary>
internal static partial class TensorMemory
{
    /// <summary>Address of element 0 of a contiguous tensor (host memory for CPU tensors, device memory for CUDA ones).</summary>
    public static IntPtr DataPointer(torch.Tensor tensor)
    {
        if (!tensor.is_contiguous())
        {
            throw new ArgumentException("collectives need a contiguous tensor", nameof(tensor));
        }
        if (tensor.numel() == 0)
        {
            return IntPtr.Zero;
        }
        var storage = THSStorage_data_ptr(tensor.Handle);
        if (storage == IntPtr.Zero)
        {
            torch.CheckForErrors();
            throw new InvalidOperationException("tensor has no storage");
        }
        var offset = THSTensor_storage_offset(tensor.Handle);
        return storage + checked((nint)(offset * tensor.ElementSize));
    }

    /// <summary>
    /// Runs <paramref name="op"/> on a contiguous view of <paramref name="tensor"/> and writes the result back when the
    /// tensor itself is not contiguous, so collectives stay in-place from the caller's point of view.
    /// </summary>
    public static void InPlace(torch.Tensor tensor, Action<torch.Tensor> op)
    {
        if (tensor.is_contiguous())
        {
            op(tensor);
            return;
        }
        using var copy = tensor.contiguous();
        op(copy);
        using var noGrad = torch.no_grad();
        tensor.copy_(copy);
    }

    [LibraryImport("LibTorchSharp")]
    private static partial IntPtr THSStorage_data_ptr(IntPtr tensor);

    [LibraryImport("LibTorchSharp")]
    private static partial long THSTensor_storage_offset(IntPtr tensor);
}
