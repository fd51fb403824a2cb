namespace BertSharp.Server;

/// <summary>Settings of <see cref="BertServer"/>.</summary>
public sealed record ServerOptions
{
    /// <summary>
    /// The model directory (config.json, weights, vocab.txt) or Hub id (cached, else downloaded unless offline), named in
    /// <c>/health</c> by the id as given or the directory's final name (not its path). Requests never name files.
    /// </summary>
    public required string ModelDirectory { get; init; }

    /// <summary>auto, cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Most queued inputs run in one forward pass; 1 turns micro-batching off.</summary>
    public int MaxBatch { get; init; } = 32;

    /// <summary>
    /// Longest input in tokens; longer texts get 422. Null: the model's trained length (<see cref="Modeling.ModelLength"/>);
    /// at most max_position_embeddings.
    /// </summary>
    public int? MaxLength { get; init; }

    /// <summary>Inputs waiting per endpoint before new requests get 429.</summary>
    public int MaxQueue { get; init; } = 1024;

    /// <summary>How long a request may wait for its result before it gets 503.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long an open batch waits for more inputs. Zero (the default) runs at once with whatever is queued: under load,
    /// inputs pile up while a batch runs and form the next one, and a lone request waits for nothing.
    /// </summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.Zero;

    /// <summary>Largest request body in bytes (413 beyond).</summary>
    public long MaxBodyBytes { get; init; } = 1 << 20;

    /// <summary>Most texts in one request (the <c>texts</c> of classify and embed); a request also never holds more than <see cref="MaxQueue"/>.</summary>
    public int MaxTextsPerRequest { get; init; } = 256;

    /// <summary>
    /// Longest input of the attention endpoint in tokens, special tokens included (its response grows with the square of the
    /// length); at least 3, capped at the longest input the server takes (<see cref="MaxLength"/> as resolved).
    /// </summary>
    public int MaxAttentionLength { get; init; } = 128;

    /// <summary>The least <see cref="MaxAttentionLength"/>: [CLS], one token and [SEP].</summary>
    internal const int MinAttentionLength = 3;

    /// <summary>
    /// Most fill-mask candidates in one response: [MASK] tokens × top_k. Each candidate carries its whole filled-in sequence
    /// (as HF's pipeline returns it), so the response grows with masks × top_k × text length; 254 masks at top_k 50 were 23 MB.
    /// </summary>
    public int MaxFillMaskCandidates { get; init; } = 100;

    /// <summary>
    /// Most (text, hypothesis) pairs in one zero-shot request: inputs × candidate labels. Each pair is one input of a forward
    /// pass, so a request of a few texts and many labels costs as much as that many texts; a request also never holds more
    /// pairs than <see cref="MaxQueue"/>.
    /// </summary>
    public int MaxZeroShotPairs { get; init; } = 256;

    /// <summary>
    /// Longest QA context, and longest NER text sent with a stride, in tokens, as a multiple of the longest input
    /// (<see cref="MaxLength"/> as resolved): longer ones take more windows.
    /// </summary>
    public int MaxContextWindows { get; init; } = 4;

    /// <summary>
    /// Which engine runs classification and embedding requests: TorchSharp (default) or ONNX Runtime over an exported graph.
    /// The other endpoints (NER, QA, fill-mask, attention) always run on TorchSharp.
    /// </summary>
    public BertSharp.Inference.InferenceBackend Backend { get; init; } = BertSharp.Inference.InferenceBackend.Torch;

    /// <summary>
    /// Host names (the <c>Host</c> header without its port) the server answers; anything else gets 400, so a page on another
    /// site cannot reach the API through DNS rebinding. Default: the loopback names. <c>*</c> allows any host.
    /// </summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = LoopbackHosts;

    /// <summary>The loopback names a server answers to by default.</summary>
    public static IReadOnlyList<string> LoopbackHosts { get; } = ["localhost", "127.0.0.1", "[::1]", "::1"];

    /// <summary>What Kestrel itself accepts; only beyond this does a request get Kestrel's bodiless 431.</summary>
    internal const int MaxKestrelHeaderBytes = 1 << 20;

    /// <summary>Largest total size of the request headers (431 beyond, with a JSON body).</summary>
    public int MaxHeaderBytes { get; init; } = 32 << 10;

    /// <summary>Validates the numbers; throws <see cref="BertSharpException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (AllowedHosts.Count == 0 || AllowedHosts.Any(string.IsNullOrWhiteSpace))
        {
            throw new BertSharpException($"{BertSharpException.Field("allowed_hosts")}: expected host names separated by commas (or * for any host).");
        }
        if (MaxHeaderBytes < 1024 || MaxHeaderBytes > MaxKestrelHeaderBytes / 2)
        {
            throw new BertSharpException($"server options: expected a header limit from 1024 to {MaxKestrelHeaderBytes / 2} bytes, got {MaxHeaderBytes}.");
        }
        BatchWindowFromMilliseconds(BatchWindow.TotalMilliseconds);
        TimeoutFromSeconds(Timeout.TotalSeconds);
        AtLeast(MaxBatch, 1, "max_batch");
        if (MaxLength is { } maxLength)
        {
            AtLeast(maxLength, 8, "max_length");
        }
        AtLeast(MaxQueue, 1, "max_queue");
        AtLeast(MaxBodyBytes, 1024, "max_body_bytes");
        // Below 1 every fill-mask request would be refused, told to use "at most 0 [MASK] tokens".
        AtLeast(MaxFillMaskCandidates, 1, "max_fill_mask_candidates");
        // Below these nothing of the kind could be answered: a 'texts' array (even of one), an attention input (the shortest
        // is [CLS], one token, [SEP]), a QA context.
        AtLeast(MaxTextsPerRequest, 1, "max_texts_per_request");
        AtLeast(MaxZeroShotPairs, 1, "max_zero_shot_pairs");
        AtLeast(MaxAttentionLength, MinAttentionLength, "max_attention_length");
        AtLeast(MaxContextWindows, 1, "max_context_windows");
    }

    private static void AtLeast(long value, long least, string field)
    {
        if (value < least)
        {
            throw new BertSharpException(
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{BertSharpException.Field(field)} {value}: expected at least {least}."));
        }
    }

    /// <summary>A <see cref="BatchWindow"/> of <paramref name="milliseconds"/>; refused as <see cref="Validate"/> refuses it.</summary>
    internal static TimeSpan BatchWindowFromMilliseconds(double milliseconds) =>
        Duration(milliseconds, "batch_window_ms", "milliseconds", 1, allowZero: true);

    /// <summary>A <see cref="Timeout"/> of <paramref name="seconds"/>; refused as <see cref="Validate"/> refuses it.</summary>
    internal static TimeSpan TimeoutFromSeconds(double seconds) =>
        Duration(seconds, "timeout", "seconds", 1000, allowZero: false);

    /// <summary>
    /// The one rule for both durations, on the number a front end reads (NaN or 1e300 could not even become a TimeSpan, and
    /// a negative window was once taken as none): finite, not negative, zero only where it means "do not wait", at most a
    /// day (the timeout becomes a cancellation delay, which stops at about 24.8 days).
    /// </summary>
    private static TimeSpan Duration(double value, string field, string unit, double msPerUnit, bool allowZero)
    {
        if (!double.IsFinite(value) || value < 0 || (value == 0 && !allowZero) || value * msPerUnit > TimeSpan.FromDays(1).TotalMilliseconds)
        {
            throw new BertSharpException(
                $"{BertSharpException.Field(field)} {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}: expected a number of {unit} {(allowZero ? "≥" : ">")} 0 (at most a day).");
        }
        return TimeSpan.FromMilliseconds(value * msPerUnit);
    }
}
