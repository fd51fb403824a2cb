using System.Diagnostics;
using System.Globalization;
using BertSharp.Modeling;
using BertSharp.Runtime;
using TorchSharp;

namespace BertSharp.Bench;

/// <summary>
/// <c>--random-model DIR PRESET VOCAB</c>: writes a <c>BertForPreTraining</c> of a size preset with random weights (seed 42)
/// and the given vocab.txt to DIR, the model bench/load-memory.sh loads (no download needed for a bert-base-sized file).
/// It also prints what constructing that model costs in CPU time, TorchSharp's default initialisation of every
/// Linear/Embedding included (a load pays it and then overwrites the weights), against allocating the same parameter
/// shapes with <c>torch.ones</c> (which writes every page, as the load's copy does; zeros would get untouched zero pages).
/// </summary>
internal static class RandomModel
{
    public static int Run(string[] args)
    {
        var (dir, preset, vocab) = (args[1], args[2], args[3]);
        var config = BertConfig.Preset(preset);
        TorchRuntime.EnsureLoaded();
        List<long[]> shapes = [];
        var construct = CpuSeconds(() =>
        {
            using var model = new BertForPreTraining(config);
            shapes = [.. model.NamedParameters().Select(p => p.Param.shape)];
        });
        var ones = CpuSeconds(() =>
        {
            var tensors = shapes.Select(s => torch.ones(s)).ToList();
            tensors.ForEach(t => t.Dispose());
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{preset} BertForPreTraining: constructing it (TorchSharp's default init included) took {construct:F2} CPU-s; allocating and filling the same parameters with ones() {ones:F2} CPU-s"));
        using (torch.random.manual_seed(42))
        {
            using var model = BertPretrained.Create<BertForPreTraining>(config);
            BertPretrained.Save(model, dir, new SaveOptions(WriteExtraFiles: tmp => File.Copy(vocab, Path.Combine(tmp, "vocab.txt")), Overwrite: true));
        }
        return 0;
    }

    private static double CpuSeconds(Action action)
    {
        var before = Process.GetCurrentProcess().TotalProcessorTime;
        action();
        return (Process.GetCurrentProcess().TotalProcessorTime - before).TotalSeconds;
    }
}
