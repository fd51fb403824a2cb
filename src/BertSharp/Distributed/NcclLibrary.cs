using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BertSharp.Distributed;

/// <summary>
/// NCCL's C API (<c>libnccl.so.2</c>) and the three CUDA driver calls that pick this rank's GPU, bound at run time so that
/// BertSharp builds and runs without either; only the NCCL backend needs them.
/// </summary>
internal sealed unsafe class NcclLibrary
{
    /// <summary>Environment variable with an explicit path to libnccl.</summary>
    public const string PathVariable = "BERTSHARP_NCCL_LIBRARY";

    public const string InstallHint = "install NCCL (NVIDIA's libnccl2 package, or pip's nvidia-nccl-cu12 with its lib folder on " +
                                      "LD_LIBRARY_PATH) or set " + PathVariable + " to the library's path";

    private static readonly string[] Candidates = ["libnccl.so.2", "libnccl.so"];

    private NcclLibrary(IntPtr handle, string name)
    {
        Name = name;
        IntPtr F(string symbol) => NativeLibrary.TryGetExport(handle, symbol, out var p)
            ? p
            : throw new BertSharpException($"NCCL backend: {name} has no export '{symbol}'; it is not NCCL 2.x ({InstallHint}).");
        GetVersion = (delegate* unmanaged<int*, int>)F("ncclGetVersion");
        GetUniqueId = (delegate* unmanaged<UniqueId*, int>)F("ncclGetUniqueId");
        CommInitRank = (delegate* unmanaged<IntPtr*, int, UniqueId, int, int>)F("ncclCommInitRank");
        AllReduce = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)F("ncclAllReduce");
        Broadcast = (delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int>)F("ncclBroadcast");
        CommDestroy = (delegate* unmanaged<IntPtr, int>)F("ncclCommDestroy");
        CommAbort = (delegate* unmanaged<IntPtr, int>)F("ncclCommAbort");
        GetErrorString = (delegate* unmanaged<int, byte*>)F("ncclGetErrorString");
    }

    public string Name { get; }
    public delegate* unmanaged<int*, int> GetVersion { get; }
    public delegate* unmanaged<UniqueId*, int> GetUniqueId { get; }
    public delegate* unmanaged<IntPtr*, int, UniqueId, int, int> CommInitRank { get; }
    public delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int> AllReduce { get; }
    public delegate* unmanaged<IntPtr, IntPtr, nuint, int, int, IntPtr, IntPtr, int> Broadcast { get; }
    public delegate* unmanaged<IntPtr, int> CommDestroy { get; }
    public delegate* unmanaged<IntPtr, int> CommAbort { get; }
    public delegate* unmanaged<int, byte*> GetErrorString { get; }

    /// <summary>Loads libnccl (from <c>BERTSHARP_NCCL_LIBRARY</c> when set); throws naming what is missing and how to get it.</summary>
    public static NcclLibrary Load() => Load(Environment.GetEnvironmentVariable(PathVariable), Candidates);

    /// <summary>Loads libnccl from <paramref name="overridePath"/> when set, else the first of <paramref name="names"/> found.</summary>
    internal static NcclLibrary Load(string? overridePath, IReadOnlyList<string> names)
    {
        if (!string.IsNullOrEmpty(overridePath))
        {
            return NativeLibrary.TryLoad(overridePath, out var h)
                ? new NcclLibrary(h, overridePath)
                : throw new BertSharpException($"NCCL backend: {PathVariable}={overridePath} could not be loaded; point it at libnccl.so.2 or unset it.");
        }
        foreach (var name in names)
        {
            if (NativeLibrary.TryLoad(name, out var handle))
            {
                return new NcclLibrary(handle, name);
            }
        }
        throw new BertSharpException($"NCCL backend: {string.Join(" or ", names)} was not found on the library path; {InstallHint}.");
    }

    /// <summary>NCCL's version as "major.minor.patch".</summary>
    public string Version()
    {
        int code;
        Check(GetVersion(&code), "ncclGetVersion");
        // NCCL >= 2.9 encodes major*10000 + minor*100 + patch; older releases major*1000 + minor*100 + patch.
        return code >= 10000 ? Invariant($"{code / 10000}.{code / 100 % 100}.{code % 100}") : Invariant($"{code / 1000}.{code / 100 % 10}.{code % 100}");
    }

    public void Check(int result, string function)
    {
        if (result != 0)
        {
            var text = Marshal.PtrToStringUTF8((IntPtr)GetErrorString(result)) ?? "unknown error";
            throw new InvalidOperationException(Invariant($"{function} failed with NCCL error {result}: {text}"));
        }
    }

    /// <summary><c>ncclUniqueId</c>: 128 opaque bytes that rank 0 creates and every rank passes to ncclCommInitRank.</summary>
    [InlineArray(128)]
    public struct UniqueId
    {
        private byte _element0;
    }
}

/// <summary>
/// The CUDA driver calls that make a GPU current on the calling thread; NCCL creates its communicator on the current device.
/// </summary>
internal static unsafe class CudaDriver
{
    public static void MakeCurrent(int device)
    {
        if (!NativeLibrary.TryLoad("libcuda.so.1", out var handle))
        {
            throw new BertSharpException("NCCL backend: the NVIDIA driver library libcuda.so.1 was not found; NCCL needs an NVIDIA GPU and its driver.");
        }
        var init = (delegate* unmanaged<uint, int>)NativeLibrary.GetExport(handle, "cuInit");
        var deviceGet = (delegate* unmanaged<int*, int, int>)NativeLibrary.GetExport(handle, "cuDeviceGet");
        var retain = (delegate* unmanaged<IntPtr*, int, int>)NativeLibrary.GetExport(handle, "cuDevicePrimaryCtxRetain");
        var setCurrent = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(handle, "cuCtxSetCurrent");
        int dev;
        IntPtr context;
        Check(init(0), "cuInit");
        Check(deviceGet(&dev, device), Invariant($"cuDeviceGet({device})"));
        Check(retain(&context, dev), "cuDevicePrimaryCtxRetain");
        Check(setCurrent(context), "cuCtxSetCurrent");
    }

    private static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new InvalidOperationException(Invariant($"{call} failed with CUDA driver error {result}"));
        }
    }
}
