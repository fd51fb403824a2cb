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

    [JsonRequired]
    public string Format { get; set; } = FormatName;

    [JsonRequired]
    public int Version { get; set; } = 1;

    /// <summary>SHA-256 (hex) of the vocab.txt bytes the ids refer to; a model must use the same vocabulary.</summary>
    [JsonRequired]
    public string VocabSha256 { get; set; } = "";

    [JsonRequired]
    public int VocabSize { get; set; }

    [JsonRequired]
    public bool Lowercase { get; set; }

    /// <summary>Bytes per token id in the shards: 2 when the vocabulary fits in uint16, else 4.</summary>
    [JsonRequired]
    public int IdWidth { get; set; }

    [JsonRequired]
    public int ClsId { get; set; }

    [JsonRequired]
    public int SepId { get; set; }

    [JsonRequired]
    public int MaskId { get; set; }

    [JsonRequired]
    public int PadId { get; set; }

    [JsonRequired]
    public int MaxSeqLength { get; set; }

    [JsonRequired]
    public int MaxPredictionsPerSeq { get; set; }

    [JsonRequired]
    public double MaskedLmProb { get; set; }

    [JsonRequired]
    public int DupeFactor { get; set; }

    [JsonRequired]
    public double ShortSeqProb { get; set; }

    [JsonRequired]
    public bool WholeWordMask { get; set; }

    [JsonRequired]
    public bool BalancedNsp { get; set; }

    /// <summary><c>mlm+nsp</c> (sentence pairs; manifests written before the field existed) or <c>mlm</c> (packed single segments).</summary>
    public string Objective { get; set; } = PretrainingObjectives.Name(PretrainingObjective.MaskedLmNextSentence);

    [JsonRequired]
    public long Seed { get; set; }

    [JsonRequired]
    public List<ManifestInput> Inputs { get; set; } = [];

    [JsonRequired]
    public long Documents { get; set; }

    [JsonRequired]
    public long Instances { get; set; }

    [JsonRequired]
    public long RandomNext { get; set; }

    [JsonRequired]
    public long Tokens { get; set; }

    [JsonRequired]
    public long MaskedTokens { get; set; }

    [JsonRequired]
    public List<ManifestShard> Shards { get; set; } = [];

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
    [JsonRequired]
    public string Path { get; set; } = "";

    [JsonRequired]
    public string Format { get; set; } = "";

    [JsonRequired]
    public long Documents { get; set; }

    [JsonRequired]
    public long Sentences { get; set; }

    [JsonRequired]
    public long Tokens { get; set; }
}

/// <summary>One shard file.</summary>
public sealed class ManifestShard
{
    [JsonRequired]
    public string File { get; set; } = "";

    [JsonRequired]
    public long Instances { get; set; }

    [JsonRequired]
    public long Bytes { get; set; }

    /// <summary>CRC-32 of the shard (also stored as its last four bytes), as 8 hex digits.</summary>
    [JsonRequired]
    public string Crc32 { get; set; } = "";
}
