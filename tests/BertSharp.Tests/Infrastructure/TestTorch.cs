using System.Runtime.CompilerServices;
using BertSharp.Runtime;
using TorchSharp;

namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// libtorch's intra-op threads in the test process: one while test classes run in parallel (two classes each using every core
/// would oversubscribe a small machine), libtorch's own choice again for the serial collection, which runs alone.
/// </summary>
internal static class TestTorch
{
    private static int _default;

    [ModuleInitializer]
    internal static void OneThreadPerTest()
    {
        try
        {
            TorchRuntime.EnsureLoaded();
        }
        catch (BertSharpException)
        {
            return; // libtorch cannot load here; the tests that need it fail with the runtime's own message.
        }
        _default = torch.get_num_threads();
        torch.set_num_threads(1);
    }

    /// <summary>
    /// Intra-op threads of the ONNX Runtime sessions tests open in-process: one, for the same reason; with more, ORT's pool
    /// spins between operators and burns CPU that the test classes beside it need.
    /// </summary>
    public const int OrtThreads = 1;

    /// <summary>Restores the thread count libtorch chose at start-up.</summary>
    public static void UseDefaultThreads()
    {
        if (_default > 0)
        {
            torch.set_num_threads(_default);
        }
    }
}
