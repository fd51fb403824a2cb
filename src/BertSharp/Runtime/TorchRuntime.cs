using TorchSharp;

namespace BertSharp.Runtime;

/// <summary>
/// Loads libtorch once, configured for speed (<see cref="NativeEnvironment"/> before it loads, <see cref="MklDispatch"/>
/// right after), and turns the opaque TorchSharp start-up failures into one actionable message.
/// </summary>
public static class TorchRuntime
{
    private static readonly Lazy<Exception?> LoadError = new(TryLoad);

    /// <summary>Throws <see cref="BertSharpException"/> with a clear explanation if libtorch cannot be loaded.</summary>
    public static void EnsureLoaded()
    {
        if (LoadError.Value is { } e)
        {
            throw new BertSharpException(
                "libtorch could not be loaded (" + FirstLine(e) + "). On Debian 12 the build marks GLIBCXX_3.4.32 weak in " +
                "runtimes/linux-x64/native/libLibTorchSharp.so; rebuild with 'dotnet build' (see README, 'Why the build patches " +
                "libLibTorchSharp.so').", e);
        }
    }

    /// <summary>Resolves a device name (<c>auto</c>, <c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>) to a TorchSharp device.</summary>
    public static torch.Device ResolveDevice(string? name)
    {
        EnsureLoaded();
        name = string.IsNullOrWhiteSpace(name) ? "auto" : name.Trim().ToLowerInvariant();
        if (name == "auto")
        {
            return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        }
        if (name.StartsWith("cuda", StringComparison.Ordinal) && !torch.cuda.is_available())
        {
            throw new BertSharpException($"{BertSharpException.Field("device")} {name}: CUDA is not available in this build of libtorch (CPU package); use {BertSharpException.Field("device")} cpu.");
        }
        try
        {
            return torch.device(name);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new BertSharpException($"{BertSharpException.Field("device")} {name}: expected auto, cpu, cuda or cuda:N.", e);
        }
    }

    /// <summary>MKL's code path and vendor override for this process (loads libtorch first).</summary>
    public static MklDispatchReport Gemm
    {
        get
        {
            EnsureLoaded();
            return MklDispatch.Report ?? MklDispatch.Configure();
        }
    }

    private static Exception? TryLoad()
    {
        try
        {
            NativeEnvironment.Apply();
            using var probe = torch.ones(1);
            // Before any matrix product: MKL chooses its code path once, at the first one.
            MklDispatch.Configure();
            return null;
        }
        catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException)
        {
            return e;
        }
    }

    private static string FirstLine(Exception e)
    {
        var inner = e;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }
        var msg = inner.Message;
        var nl = msg.IndexOf('\n', StringComparison.Ordinal);
        return (nl >= 0 ? msg[..nl] : msg).Trim();
    }
}
