using BenchmarkDotNet.Running;

namespace BertSharp.Bench;

/// <summary>
/// <c>--mlnet [--vocab V --input F --lowercase true|false --threads 1,2 --rounds 3]</c>: Microsoft.ML.Tokenizers throughput
/// as one JSON line per thread count (used by bench/tokenize.sh). Anything else goes to BenchmarkDotNet
/// (e.g. <c>--filter *PerText*</c>). <c>--onnx ...</c>: the ONNX Runtime benchmark (bench/onnx.sh, see <see cref="OnnxBench"/>). <c>--gc-race ...</c>: <see cref="GcRaceProbe"/>. <c>--hf-parity-dump DIR TINY</c>: <see cref="HfParityDump"/>. <c>--random-model DIR PRESET VOCAB</c>: <see cref="RandomModel"/>. <c>--bf16-train ...</c>: <see cref="Bf16TrainBench"/>. <c>--as-bin SRC DST</c>, <c>--as-shards SRC DST N</c>: <see cref="CheckpointFormats"/>.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--mlnet")
        {
            return MlNetThroughput.Run(args);
        }
        if (args.Length > 0 && args[0] == "--cpu")
        {
            return Cpu.CpuBenchDriver.Run(args);
        }
        if (args.Length > 2 && args[0] == "--cpu-worker")
        {
            return Cpu.CpuWorker.Run(args[1], args[2]);
        }
        if (args.Length > 2 && args[0] == "--gc-race")
        {
            return GcRaceProbe.Run(args);
        }
        if (args.Length > 2 && args[0] == "--hf-parity-dump")
        {
            return HfParityDump.Run(args);
        }
        if (args.Length > 2 && args[0] is "--as-bin" or "--as-shards")
        {
            return CheckpointFormats.Run(args);
        }
        if (args.Length > 3 && args[0] == "--random-model")
        {
            return RandomModel.Run(args);
        }
        if (args.Length > 0 && args[0] == "--bf16-train")
        {
            return Bf16TrainBench.Run(args);
        }
        if (args.Length > 0 && args[0] == "--onnx")
        {
            return OnnxBench.Run(args);
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
