using System.Runtime.InteropServices;
using System.Text;

namespace BertSharp.Distributed;

/// <summary>
/// Open MPI's C API, bound at run time. Open MPI's handles (<c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>, <c>MPI_SUM</c>, ...)
/// are addresses of exported globals (<c>ompi_mpi_comm_world</c>, ...), so they are resolved with
/// <see cref="NativeLibrary.GetExport"/> rather than compiled in; that also makes a non-Open-MPI <c>libmpi</c> fail with a
/// clear message instead of crashing.
/// </summary>
internal sealed unsafe partial class MpiLibrary
{
    /// <summary>What to install when the library is missing; part of every "not found" message.</summary>
    public const string InstallHint = "install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev)";

    public const int ThreadMultiple = 3;

    /// <summary>Open MPI's <c>MPI_IN_PLACE</c>.</summary>
    public static readonly IntPtr InPlace = 1;

    private static readonly string[] Candidates = ["libmpi.so.40", "libmpi.so"];
    private static readonly Lazy<MpiLibrary> Shared = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private MpiLibrary(IntPtr handle, string name)
    {
        Name = name;
        IntPtr F(string symbol) => NativeLibrary.TryGetExport(handle, symbol, out var p)
            ? p
            : throw new BertSharpException($"MPI backend: {name} has no export '{symbol}'; BertSharp needs Open MPI 4 or newer ({InstallHint}).");
        CommWorld = F("ompi_mpi_comm_world");
        Float = F("ompi_mpi_float");
        Double = F("ompi_mpi_double");
        Int32 = F("ompi_mpi_int32_t");
        Int64 = F("ompi_mpi_int64_t");
        UInt8 = F("ompi_mpi_uint8_t");
        OpSum = F("ompi_mpi_op_sum");
        OpMax = F("ompi_mpi_op_max");
        OpMin = F("ompi_mpi_op_min");
        Initialized = (delegate* unmanaged<int*, int>)F("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)F("MPI_Finalized");
        InitThread = (delegate* unmanaged<int*, byte***, int, int*, int>)F("MPI_Init_thread");
        CommRank = (delegate* unmanaged<IntPtr, int*, int>)F("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<IntPtr, int*, int>)F("MPI_Comm_size");
        Allreduce = (delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int>)F("MPI_Allreduce");
        Bcast = (delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int>)F("MPI_Bcast");
        Iallreduce = (delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, IntPtr*, int>)F("MPI_Iallreduce");
        Test = (delegate* unmanaged<IntPtr*, int*, IntPtr, int>)F("MPI_Test");
        Abort = (delegate* unmanaged<IntPtr, int, int>)F("MPI_Abort");
        Finalize = (delegate* unmanaged<int>)F("MPI_Finalize");
        GetLibraryVersion = (delegate* unmanaged<byte*, int*, int>)F("MPI_Get_library_version");
        ErrorString = (delegate* unmanaged<int, byte*, int*, int>)F("MPI_Error_string");
    }

    public string Name { get; }
    public IntPtr CommWorld { get; }
    public IntPtr Float { get; }
    public IntPtr Double { get; }
    public IntPtr Int32 { get; }
    public IntPtr Int64 { get; }
    public IntPtr UInt8 { get; }
    public IntPtr OpSum { get; }
    public IntPtr OpMax { get; }
    public IntPtr OpMin { get; }
    public delegate* unmanaged<int*, int> Initialized { get; }
    public delegate* unmanaged<int*, int> Finalized { get; }
    public delegate* unmanaged<int*, byte***, int, int*, int> InitThread { get; }
    public delegate* unmanaged<IntPtr, int*, int> CommRank { get; }
    public delegate* unmanaged<IntPtr, int*, int> CommSize { get; }
    public delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int> Allreduce { get; }
    public delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int> Bcast { get; }
    /// <summary><c>MPI_Iallreduce(sendbuf, recvbuf, count, datatype, op, comm, &amp;request)</c>; an Open MPI request is a pointer.</summary>
    public delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, IntPtr*, int> Iallreduce { get; }

    /// <summary><c>MPI_Test(&amp;request, &amp;flag, status)</c>; Open MPI's <c>MPI_STATUS_IGNORE</c> is a null pointer.</summary>
    public delegate* unmanaged<IntPtr*, int*, IntPtr, int> Test { get; }
    public delegate* unmanaged<IntPtr, int, int> Abort { get; }
    public delegate* unmanaged<int> Finalize { get; }
    public delegate* unmanaged<byte*, int*, int> GetLibraryVersion { get; }
    public delegate* unmanaged<int, byte*, int*, int> ErrorString { get; }

    /// <summary>The process-wide binding; throws <see cref="BertSharpException"/> naming what to install when absent.</summary>
    public static MpiLibrary Instance => Shared.Value;

    /// <summary>First line of <c>MPI_Get_library_version</c>, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, ...".</summary>
    public string Version()
    {
        var buffer = stackalloc byte[4096];
        int length;
        Check(GetLibraryVersion(buffer, &length), "MPI_Get_library_version");
        var text = Encoding.UTF8.GetString(buffer, Math.Max(0, length));
        var end = text.IndexOfAny(['\n', '\0']);
        return (end >= 0 ? text[..end] : text).Trim();
    }

    /// <summary>Turns a non-zero MPI return code into an exception carrying MPI's own description.</summary>
    public void Check(int code, string function)
    {
        if (code == 0)
        {
            return;
        }
        var buffer = stackalloc byte[1024];
        int length = 0;
        var described = ErrorString(code, buffer, &length) == 0 ? Encoding.UTF8.GetString(buffer, Math.Max(0, length)) : "unknown error";
        throw new InvalidOperationException(Invariant($"{function} failed with MPI error {code}: {described}"));
    }

    private static MpiLibrary Load() => Load(Environment.GetEnvironmentVariable("BERTSHARP_MPI_LIBRARY"));

    /// <summary>
    /// Throws what <see cref="Instance"/> would throw in this environment, without caching the outcome: a launcher checks
    /// the library once before starting its ranks, each of which would otherwise report the same failure.
    /// </summary>
    internal static void EnsureLoadable() => _ = Load();

    /// <summary>Binds Open MPI from <paramref name="overridePath"/>, or from the usual names on the loader path when null.</summary>
    internal static MpiLibrary Load(string? overridePath)
    {
        string[] names = string.IsNullOrEmpty(overridePath) ? Candidates : [overridePath];
        foreach (var name in names)
        {
            // Open MPI's plugins (btl, pml, coll components) resolve symbols of libmpi/libopen-pal at dlopen time, so the
            // library is opened with RTLD_GLOBAL the way mpi4py does, not with .NET's default RTLD_LOCAL.
            var handle = DlOpenGlobal(name);
            if (handle != IntPtr.Zero)
            {
                return new MpiLibrary(handle, name);
            }
        }
        throw new BertSharpException(string.IsNullOrEmpty(overridePath)
            ? $"MPI backend: Open MPI's library ({string.Join(" or ", Candidates)}) was not found; {InstallHint}."
            : $"MPI backend: BERTSHARP_MPI_LIBRARY={overridePath} could not be loaded; point it at Open MPI's libmpi.so or unset it.");
    }

    private static IntPtr DlOpenGlobal(string name)
    {
        const int RtldNow = 2, RtldGlobal = 0x100;
        try
        {
            return dlopen(name, RtldNow | RtldGlobal);
        }
        catch (DllNotFoundException)
        {
            return NativeLibrary.TryLoad(name, out var handle) ? handle : IntPtr.Zero;
        }
    }

    [LibraryImport("libc.so.6", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr dlopen(string fileName, int flags);
}
