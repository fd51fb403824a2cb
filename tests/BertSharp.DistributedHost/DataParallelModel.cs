using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.DistributedHost;

/// <summary>The tiny model and batch of the data-parallel scenario; the tests rebuild them in-process as the reference.</summary>
public static class DataParallelModel
{
    public static Sequential Create() => nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3));

    /// <summary>A deterministic batch: inputs [n, 4] and class labels [n].</summary>
    public static (Tensor X, Tensor Y) Batch(int n)
    {
        var x = (arange(n * 4, dtype: ScalarType.Float32).reshape(n, 4) * 0.37f).sin();
        var y = arange(n, dtype: ScalarType.Int64) % 3;
        return (x, y);
    }

    /// <summary>Mean cross-entropy over the examples given.</summary>
    public static Tensor Loss(Sequential model, Tensor x, Tensor y) => nn.functional.cross_entropy(model.forward(x), y);
}
