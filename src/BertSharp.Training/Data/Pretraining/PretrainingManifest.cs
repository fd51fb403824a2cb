using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using BertSharp.IO;

namespace BertSharp.Data.Pretraining;

/// <summary>
/// <c>manifest.json</c> of a pre-training data directory: what was built from what (vocabulary hash, options, inputs),
/// the totals, and the shard list with sizes and CRCs.
/// </summary>
public sealed class PretrainingManifest
{
    /// <summary>The value of <see cref="Format"/> in every manifest.</summary>
    public const string FormatName = "bertsharp-pretraining-data";

    /// <summary>File name inside the data directory.</summary>
    public const string FileName = "manifest.json";

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        RespectNullableAnnotations = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        // The default encoder writes "mlm+nsp" as "mlm\u002Bnsp" (and non-ASCII paths as escapes): valid, but not what a reader expects.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>JSON <c>format</c>: always <see cref="FormatName"/>; <see cref="Load"/> refuses a file with any other value.</summary>
    [JsonRequired]
    public string Format { get; set; } = FormatName;

    /// <summary>JSON <c>version</c> of the directory layout: 1, the only one this build writes and reads.</summary>
    [JsonRequired]
    public int Version { get; set; } = 1;

    /// <summary>SHA-256 (hex) of the vocab.txt bytes the ids refer to; a model must use the same vocabulary.</summary>
    [JsonRequired]
    public string VocabSha256 { get; set; } = "";

    /// <summary>Number of tokens in the vocabulary (vocab.txt lines); every id in the shards is below it, and a model's <c>vocab_size</c> must be at least this.</summary>
    [JsonRequired]
    public int VocabSize { get; set; }

    /// <summary>
    /// Whether the text was lower-cased before WordPiece (<see cref="PretrainingDataBuilder.Lowercase"/>); the tokenizer saved
    /// with a model pre-trained on the data is configured from it.
    /// </summary>
    [JsonRequired]
    public bool Lowercase { get; set; }

    /// <summary>Bytes per token id in the shards: 2 when the vocabulary fits in uint16, else 4.</summary>
    [JsonRequired]
    public int IdWidth { get; set; }

    /// <summary>Id of <c>[CLS]</c> in the vocabulary (position 0 of every instance).</summary>
    [JsonRequired]
    public int ClsId { get; set; }

    /// <summary>Id of <c>[SEP]</c> in the vocabulary (closes each segment, and separates documents in packed <c>mlm</c> data).</summary>
    [JsonRequired]
    public int SepId { get; set; }

    /// <summary>Id of <c>[MASK]</c> in the vocabulary (the input at about 80 % of the predicted positions).</summary>
    [JsonRequired]
    public int MaskId { get; set; }

    /// <summary>Id of <c>[PAD]</c> in the vocabulary, or 0 when it has none; batches pad with it.</summary>
    [JsonRequired]
    public int PadId { get; set; }

    /// <summary>The build's <see cref="PretrainingOptions.MaxSeqLength"/>: no instance is longer, special tokens included (5..65535).</summary>
    [JsonRequired]
    public int MaxSeqLength { get; set; }

    /// <summary>The build's <see cref="PretrainingOptions.MaxPredictionsPerSeq"/>: at most this many masked positions per instance (1..255).</summary>
    [JsonRequired]
    public int MaxPredictionsPerSeq { get; set; }

    /// <summary>The build's <see cref="PretrainingOptions.MaskedLmProb"/>: the share of tokens chosen for prediction, in (0, 1).</summary>
    [JsonRequired]
    public double MaskedLmProb { get; set; }

    /// <summary>The build's <see cref="PretrainingOptions.DupeFactor"/>: how many passes, each with other segments and masks, were made over every document.</summary>
    [JsonRequired]
    public int DupeFactor { get; set; }

    /// <summary>The build's <see cref="PretrainingOptions.ShortSeqProb"/>: the probability, in [0, 1], of a shorter random target length.</summary>
    [JsonRequired]
    public double ShortSeqProb { get; set; }

    /// <summary>The build's <see cref="PretrainingOptions.WholeWordMask"/>: whether all word pieces of a word were masked together.</summary>
    [JsonRequired]
    public bool WholeWordMask { get; set; }

    /// <summary>The build's <see cref="PretrainingOptions.BalancedNsp"/>: whether single-sentence chunks were split to keep the next-sentence labels near 50/50.</summary>
    [JsonRequired]
    public bool BalancedNsp { get; set; }

    /// <summary><c>mlm+nsp</c> (sentence pairs; manifests written before the field existed) or <c>mlm</c> (packed single segments).</summary>
    public string Objective { get; set; } = PretrainingObjectives.Name(PretrainingObjective.MaskedLmNextSentence);

    /// <summary>The build's <see cref="PretrainingOptions.Seed"/>; the same seed, options and inputs give byte-identical shards.</summary>
    [JsonRequired]
    public long Seed { get; set; }

    /// <summary>The corpus files read, in the order their documents were numbered (folders expanded to their <c>.txt</c> / <c>.txt.gz</c> files).</summary>
    [JsonRequired]
    public List<ManifestInput> Inputs { get; set; } = [];

    /// <summary>Documents with at least one sentence that tokenized to word pieces, over all inputs (the sum of <see cref="ManifestInput.Documents"/>).</summary>
    [JsonRequired]
    public long Documents { get; set; }

    /// <summary>Training instances over all shards; <see cref="Load"/> checks that it is the sum of <see cref="ManifestShard.Instances"/>.</summary>
    [JsonRequired]
    public long Instances { get; set; }

    /// <summary>Instances whose second segment comes from another document (next-sentence label 1); 0 for <c>mlm</c> data.</summary>
    [JsonRequired]
    public long RandomNext { get; set; }

    /// <summary>Sum of the instances' lengths in token ids, <c>[CLS]</c> and <c>[SEP]</c> included (no padding is stored).</summary>
    [JsonRequired]
    public long Tokens { get; set; }

    /// <summary>Masked positions (masked-LM predictions) over all instances.</summary>
    [JsonRequired]
    public long MaskedTokens { get; set; }

    /// <summary>The shard files in reading order; instance <c>i</c> of the data set is in the first shard whose running count passes <c>i</c>.</summary>
    [JsonRequired]
    public List<ManifestShard> Shards { get; set; } = [];

    /// <summary>
    /// The held-out split of whole documents (<see cref="PretrainingDataBuilder.ValidationSplitPercentage"/>), a data
    /// directory of its own inside this one; null (absent from the JSON) when the build held none out. The totals and shards
    /// above are the training split's alone.
    /// </summary>
    public ManifestValidation? Validation { get; set; }

    /// <summary>The options recorded in this manifest.</summary>
    public PretrainingOptions Options() => new()
    {
        MaxSeqLength = MaxSeqLength,
        MaxPredictionsPerSeq = MaxPredictionsPerSeq,
        MaskedLmProb = MaskedLmProb,
        DupeFactor = DupeFactor,
        ShortSeqProb = ShortSeqProb,
        WholeWordMask = WholeWordMask,
        BalancedNsp = BalancedNsp,
        Objective = PretrainingObjectives.Parse(Objective),
        Seed = Seed,
    };

    /// <summary>Reads and checks a manifest; a missing or malformed file is a <see cref="BertSharpException"/>.</summary>
    public static PretrainingManifest Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            throw new BertSharpException($"{path}: not found; expected a directory written by PretrainingDataBuilder.");
        }
        // Every field but 'objective' (added later) has been written since the first version.
        var m = StrictJson.Read<PretrainingManifest>(path, Json, "the manifest of a pre-training data directory");
        if (m.Format != FormatName)
        {
            throw new BertSharpException($"{path}: field 'format' must be '{FormatName}'.");
        }
        if (m.Version != 1)
        {
            throw new BertSharpException(Invariant($"{path}: unsupported version {m.Version} (this build reads version 1)."));
        }
        if (m.IdWidth is not (2 or 4) || m.VocabSize <= 0 || m.MaxSeqLength <= 0)
        {
            throw new BertSharpException($"{path}: fields 'id_width' (2 or 4), 'vocab_size' and 'max_seq_length' must be set.");
        }
        if (m.Objective is not ("mlm" or "mlm+nsp"))
        {
            throw new BertSharpException($"{path}: field 'objective' must be 'mlm' or 'mlm+nsp', not '{m.Objective}'.");
        }
        if (m.Shards.Sum(s => s.Instances) != m.Instances)
        {
            throw new BertSharpException(Invariant($"{path}: shard instance counts do not add up to 'instances' ({m.Instances})."));
        }
        if (m.Validation is { } v && (v.Directory != ManifestValidation.DirectoryName || v.Documents < 1 || v.Instances < 1
                                      || !(v.Percentage > 0 && v.Percentage <= 50)))
        {
            throw new BertSharpException($"{path}: field 'validation' must name the directory '{ManifestValidation.DirectoryName}' and hold at least one document and instance, with a percentage in (0, 50].");
        }
        return m;
    }

    /// <summary>Serialises to indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>
    /// SHA-256 (hex) of the shard list (instances and CRC-32 of each, in order): equal for data built alike, whatever the
    /// directory or thread count, and different for data built with another seed or corpus even when the count is the same
    /// (and for the same instances split into shards of another size: telling those apart would mean reading every shard).
    /// </summary>
    internal string ShardsSha256() =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            string.Concat(Shards.Select(s => $"{s.Instances.ToString(System.Globalization.CultureInfo.InvariantCulture)} {s.Crc32.ToLowerInvariant()}\n")))));
}

/// <summary>One input file of the corpus.</summary>
public sealed class ManifestInput
{
    /// <summary>The file's path as given to the builder (a folder's files as found under it), not made absolute.</summary>
    [JsonRequired]
    public string Path { get; set; } = "";

    /// <summary>How the file was read: <c>lines</c>, <c>document-per-line</c> or <c>book</c> (see <see cref="CorpusFormat"/>; an auto-detected file records what was detected).</summary>
    [JsonRequired]
    public string Format { get; set; } = "";

    /// <summary>Documents of the file that hold at least one non-empty sentence.</summary>
    [JsonRequired]
    public long Documents { get; set; }

    /// <summary>Sentences of those documents that tokenized to at least one word piece.</summary>
    [JsonRequired]
    public long Sentences { get; set; }

    /// <summary>Word pieces of those sentences (no special tokens).</summary>
    [JsonRequired]
    public long Tokens { get; set; }
}

/// <summary>One shard file.</summary>
public sealed class ManifestShard
{
    /// <summary>The shard's file name inside the data directory (<c>shard-00000.bin</c>, …); <see cref="PretrainingDataset.Open"/> refuses a path with a directory part.</summary>
    [JsonRequired]
    public string File { get; set; } = "";

    /// <summary>Instances in the shard (the builder's shard size for all but the last).</summary>
    [JsonRequired]
    public long Instances { get; set; }

    /// <summary>The shard file's size in bytes, CRC footer included; a file of another size is refused as truncated or corrupt.</summary>
    [JsonRequired]
    public long Bytes { get; set; }

    /// <summary>CRC-32 of the shard (also stored as its last four bytes), as 8 hex digits.</summary>
    [JsonRequired]
    public string Crc32 { get; set; } = "";
}

/// <summary>The held-out split of a data directory: whole documents whose instances are never trained on.</summary>
public sealed class ManifestValidation
{
    /// <summary>The value of <see cref="Directory"/> in every manifest.</summary>
    public const string DirectoryName = "validation";

    /// <summary>The split's data directory inside the training data's, with its own manifest and shards.</summary>
    [JsonRequired]
    public string Directory { get; set; } = DirectoryName;

    /// <summary>The percentage of the documents asked for (HF <c>run_mlm.py</c>'s <c>validation_split_percentage</c>).</summary>
    [JsonRequired]
    public double Percentage { get; set; }

    /// <summary>Documents held out (chosen with the build's seed).</summary>
    [JsonRequired]
    public long Documents { get; set; }

    /// <summary>Instances made of them, with the training split's options (masks and dupe factor alike).</summary>
    [JsonRequired]
    public long Instances { get; set; }
}
