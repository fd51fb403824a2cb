using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.DistributedHost;

/// <summary>The tiny model and batch of the data-parallel scenario; the tests rebuild them in-process as the reference.</summary>
public static class DataParallelModel
{
    /// <summary>
    /// The model with every parameter drawn from its own generator seeded <paramref name="seed"/> (uniform in ±1/√fan-in, as
    /// Linear's default), so rebuilding it does not depend on what else drew from torch's default generator.
    /// </summary>
    public static Sequential Create(long seed)
    {
        var first = nn.Linear(4, 8);
        var second = nn.Linear(8, 3);
        using var generator = new Generator((ulong)seed);
        using (no_grad())
        {
            foreach (var linear in new[] { first, second })
            {
                var bound = 1 / Math.Sqrt(linear.weight!.shape[1]);
                linear.weight.uniform_(-bound, bound, generator);
                linear.bias!.uniform_(-bound, bound, generator);
            }
        }
        var model = nn.Sequential(first, nn.Tanh(), second);
        return model;
    }

    /// <summary>A deterministic batch: inputs [n, 4] and class labels [n].</summary>
    public static (Tensor X, Tensor Y) Batch(int n)
    {
        // Built from arrays, not arange(...) * 0.37f: TorchSharp's number operands are Scalars it does not keep alive during
        // the call (build/BannedSymbols.txt); i · 0.37f rounds the same in C# as in torch's float32 multiply.
        var x = tensor(Enumerable.Range(0, n * 4).Select(i => i * 0.37f).ToArray()).reshape(n, 4).sin();
        var y = tensor(Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray());
        return (x, y);
    }

    /// <summary>Mean cross-entropy over the examples given.</summary>
    public static Tensor Loss(Sequential model, Tensor x, Tensor y) => nn.functional.cross_entropy(model.forward(x), y);
}
