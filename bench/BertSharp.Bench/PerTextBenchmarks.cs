using BenchmarkDotNet.Attributes;
using BertSharp.Tokenization;
using MlBertTokenizer = Microsoft.ML.Tokenizers.BertTokenizer;

namespace BertSharp.Bench;

/// <summary>
/// Cost per text (time and allocated bytes, MemoryDiagnoser) of encoding IMDb reviews: BertSharp's ids-only path, its full
/// encoding, its allocation-free count, and Microsoft.ML.Tokenizers' BertTokenizer. Each operation is one text; the
/// "output bytes" line printed at setup is what the returned arrays alone take, for comparison with "Allocated".
/// </summary>
[MemoryDiagnoser]
public class PerTextBenchmarks
{
    private const int Texts = 100;
    private string[] _texts = [];
    private BertTokenizer _bertSharp = null!;
    private MlBertTokenizer _mlnet = null!;

    [GlobalSetup]
    public void Setup()
    {
        _texts = BenchData.Sample(250).Take(Texts).ToArray();
        _bertSharp = BertTokenizer.FromVocabFile(BenchData.Vocab, lowercase: true);
        _mlnet = MlBertTokenizer.Create(BenchData.Vocab, new Microsoft.ML.Tokenizers.BertOptions { LowerCaseBeforeTokenization = true });
        double idsBytes = 0, encodingBytes = 0;
        foreach (var t in _texts)
        {
            var n = _bertSharp.EncodeIds(t).Length;
            idsBytes += ArrayBytes(n, 4);
            // Encode: Ids, TypeIds, AttentionMask, SpecialTokensMask, WordIds (int), Tokens (refs), Offsets, Utf16Offsets (2 ints).
            encodingBytes += 5 * ArrayBytes(n, 4) + ArrayBytes(n, 8) + 2 * ArrayBytes(n, 8) + 24 + 8 * 8;
        }
        Console.WriteLine($"// output bytes per text: EncodeIds int[] {idsBytes / _texts.Length:F0} B; Encode arrays ~{encodingBytes / _texts.Length:F0} B");
    }

    private static double ArrayBytes(int n, int elementSize) => 24 + ((n * elementSize + 7) / 8 * 8);

    [Benchmark(Baseline = true, OperationsPerInvoke = Texts)]
    public long BertSharp_EncodeIds()
    {
        long n = 0;
        foreach (var t in _texts)
        {
            n += _bertSharp.EncodeIds(t).Length;
        }
        return n;
    }

    [Benchmark(OperationsPerInvoke = Texts)]
    public long BertSharp_Encode()
    {
        long n = 0;
        foreach (var t in _texts)
        {
            n += _bertSharp.Encode(t).Length;
        }
        return n;
    }

    [Benchmark(OperationsPerInvoke = Texts)]
    public long BertSharp_CountTokens()
    {
        long n = 0;
        foreach (var t in _texts)
        {
            n += _bertSharp.CountTokens(t);
        }
        return n;
    }

    [Benchmark(OperationsPerInvoke = Texts)]
    public long MLNet_EncodeToIds()
    {
        long n = 0;
        foreach (var t in _texts)
        {
            n += _mlnet.EncodeToIds(t, addSpecialTokens: true, considerPreTokenization: true, considerNormalization: true).Count;
        }
        return n;
    }
}
