using static TorchSharp.torch;

namespace BertSharp.Bench.Cpu;

/// <summary>
/// The bench's deterministic inputs, the same rule as bench/cpu/torch_peer.py's <c>inputs</c>: every contender sees the same
/// ids, a full mask, segment 0 for the first half and 1 for the second, labels at every 7th position, NSP labels 0/1.
/// </summary>
internal static class CpuInputs
{
    public static long[] Ids(int batch, int seq, long vocab) =>
        Enumerable.Range(0, batch * seq).Select(i => (i * 7919L + 1234) % (vocab - 1000) + 1000).ToArray();

    public static long[] Types(int batch, int seq) => Enumerable.Range(0, batch * seq).Select(i => i % seq >= seq / 2 ? 1L : 0L).ToArray();

    public static long[] Labels(long[] ids) => ids.Select((id, i) => i % 7 == 3 ? id : -100L).ToArray();

    public static long[] NextSentence(int batch) => Enumerable.Range(0, batch).Select(i => (long)(i % 2)).ToArray();

    public static Tensor Tensor2D(long[] values, int batch, int seq) => tensor(values).reshape(batch, seq);
}
