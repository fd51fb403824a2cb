namespace BertSharp.Runtime;

/// <summary>The one bound on a thread count the user chooses: the CLI's <c>--threads</c> options and the library's records.</summary>
/// <remarks>
/// The work behind every such setting (libtorch's and ONNX Runtime's intra-op threads, the tokenizer's and the corpus
/// readers' workers) is compute-bound: past one thread per core it only adds context switches and per-thread memory.
/// Unbounded, a typo costs minutes: 1,000 libtorch threads took 12 s for one sentence and 100,000 ran for over 30 s before
/// doing any work. Neither libtorch nor ONNX Runtime bounds the count itself. The factor 4 rather than 1 leaves room for
/// oversubscribing on purpose (a container whose CPU quota reads as fewer cores than it can burst to, overlapping I/O).
/// </remarks>
internal static class ThreadCount
{
    /// <summary>
    /// The largest count accepted: 4 × <see cref="Environment.ProcessorCount"/> (the cores this process may use, after affinity
    /// and container limits).
    /// </summary>
    public static int Max { get; } = 4 * Environment.ProcessorCount;

    /// <summary>
    /// <paramref name="n"/> when it is in 1..<see cref="Max"/> (0..<see cref="Max"/> where <paramref name="zeroIsDefault"/>:
    /// 0 asks for the library's choice); else the one-line error naming <paramref name="name"/>, with <paramref name="note"/>
    /// (what each unit counted is, for a count of something other than threads) inside its parenthesis.
    /// </summary>
    public static int Check(int n, string name, bool zeroIsDefault = false, string? note = null)
    {
        var min = zeroIsDefault ? 0 : 1;
        if (n < min || n > Max)
        {
            throw new BertSharpException(Invariant(
                $"{name} {n}: expected {min}..{Max} (at most 4 × the {Environment.ProcessorCount} processors{(zeroIsDefault ? "; 0: one per core" : "")}{(note is null ? "" : "; " + note)})."));
        }
        return n;
    }
}
