using System.Collections.Concurrent;
using System.Globalization;
using BertSharp.IO;

namespace BertSharp.Data.Pretraining;

/// <summary>
/// Progress of a long data build: <paramref name="Phase"/> ("tokenize", "instances", "write"; with a held-out split
/// "instances (training)", "instances (validation)", "write (training)" and "write (validation)"), units done of total.
/// </summary>
public readonly record struct PretrainingProgress(string Phase, long Done, long Total);

/// <summary>
/// Builds a pre-training data directory from text files, following google-research/bert's
/// <c>create_pretraining_data.py</c>. Work is parallel over input files (tokenization) and over (file, dupe pass) units
/// (instances); each unit has its own generator derived from the seed and results are merged in input order, so the
/// output is byte-identical for a seed whatever the thread count.
/// </summary>
public sealed class PretrainingDataBuilder
{
    /// <summary>Instances per shard file (about 20 MB at length 128).</summary>
    public const int DefaultShardSize = 65536;

    // What a data directory holds besides the marker: the data replaces only data, never a model or a run it would delete.
    private static readonly OutputKind DataKind = new("pre-training data", [PretrainingManifest.FileName, "shard-*.bin", ManifestValidation.DirectoryName]);

    private readonly Func<string, int[]> _encode;
    private readonly IReadOnlyList<string> _vocabTokens;
    private readonly string _vocabSha256;
    private readonly MaskingVocabulary _vocab;

    /// <param name="encode">Text → word-piece ids (the project's WordPiece tokenizer).</param>
    /// <param name="vocabTokens">The vocabulary in id order.</param>
    /// <param name="vocabSha256">SHA-256 of the vocab file, recorded so models can be checked against the data.</param>
    /// <exception cref="BertSharpException">The vocabulary lacks <c>[CLS]</c>, <c>[SEP]</c> or <c>[MASK]</c>.</exception>
    public PretrainingDataBuilder(Func<string, int[]> encode, IReadOnlyList<string> vocabTokens, string vocabSha256)
    {
        _encode = encode ?? throw new ArgumentNullException(nameof(encode));
        _vocabTokens = vocabTokens ?? throw new ArgumentNullException(nameof(vocabTokens));
        _vocabSha256 = vocabSha256 ?? throw new ArgumentNullException(nameof(vocabSha256));
        // Here, not after a corpus of gigabytes has been read and tokenized.
        _vocab = new MaskingVocabulary(vocabTokens);
    }

    /// <summary>The instance-building options (google's <c>create_pretraining_data.py</c> flags); checked by <see cref="PretrainingOptions.Validate"/> when building.</summary>
    public PretrainingOptions Options { get; init; } = new();

    /// <summary>How to read every input file; <see cref="CorpusFormat.Auto"/> (the default) detects it per file.</summary>
    public CorpusFormat Format { get; init; } = CorpusFormat.Auto;

    /// <summary>
    /// Whether the <c>encode</c> function lower-cases, recorded as <see cref="PretrainingManifest.Lowercase"/> (default true);
    /// the builder does not lower-case anything itself, so this must match the tokenizer behind <c>encode</c>.
    /// </summary>
    public bool Lowercase { get; init; } = true;

    /// <summary>Instances per shard file (default <see cref="DefaultShardSize"/>); <see cref="Build"/> throws <see cref="ArgumentOutOfRangeException"/> below 1.</summary>
    public int ShardSize { get; init; } = DefaultShardSize;

    /// <summary>
    /// Percentage of the documents, 0..50 (HF <c>run_mlm.py</c>'s <c>validation_split_percentage</c>), held out whole and
    /// written as a split of their own (<see cref="PretrainingManifest.Validation"/>), so that an evaluation on it measures
    /// text the model never trained on. The documents are chosen with the seed; at least one is held out (two with
    /// next-sentence prediction, whose random segments stay within their split) and as many are left for training, or
    /// <see cref="Build"/> refuses. 0 (the default) holds none out and writes what a build without the option wrote.
    /// </summary>
    public double ValidationSplitPercentage { get; init; }

    /// <summary>Worker threads (default: all cores); does not change the output.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Receives a report after each file tokenized, each (file, dupe pass) unit turned into instances and each shard written;
    /// called from worker threads, so counts may arrive out of order. Null (the default) reports nothing.
    /// </summary>
    public IProgress<PretrainingProgress>? Progress { get; init; }

    /// <summary>Reads and tokenizes every file: documents of sentences of ids, with per-file counts.</summary>
    public (List<int[][]> Documents, List<ManifestInput> Inputs, int[] FileDocumentStart) Tokenize(IReadOnlyList<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var perFile = new List<int[][]>[files.Count];
        var inputs = new ManifestInput[files.Count];
        long done = 0;
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = MaxDegreeOfParallelism, CancellationToken = Cancellation }, f =>
        {
            var format = Format == CorpusFormat.Auto ? CorpusReader.Detect(files[f]) : Format;
            var docs = new List<int[][]>();
            long sentences = 0, tokens = 0;
            foreach (var doc in CorpusReader.ReadDocuments(files[f], format))
            {
                // One corpus file can take minutes: Parallel.For alone checks the token only between files.
                Cancellation.ThrowIfCancellationRequested();
                var ids = new List<int[]>(doc.Count);
                foreach (var sentence in doc)
                {
                    var s = _encode(sentence);
                    if (s.Length > 0)
                    {
                        ids.Add(s);
                        tokens += s.Length;
                    }
                }
                if (ids.Count > 0)
                {
                    docs.Add([.. ids]);
                    sentences += ids.Count;
                }
            }
            perFile[f] = docs;
            inputs[f] = new ManifestInput { Path = files[f], Format = FormatName(format), Documents = docs.Count, Sentences = sentences, Tokens = tokens };
            Progress?.Report(new PretrainingProgress("tokenize", Interlocked.Increment(ref done), files.Count));
        });
        var all = new List<int[][]>();
        var starts = new int[files.Count + 1];
        for (var f = 0; f < files.Count; f++)
        {
            starts[f] = all.Count;
            all.AddRange(perFile[f]);
        }
        starts[files.Count] = all.Count;
        return (all, [.. inputs], starts);
    }

    /// <summary>Creates the (shuffled) instances of an already tokenized corpus.</summary>
    public List<PretrainingInstance> CreateInstances(IReadOnlyList<int[][]> documents, int[] fileDocumentStart) =>
        CreateInstances(documents, fileDocumentStart, "instances");

    // Each split reports a phase of its own: reported under one name, the second split's progress restarted the first's bar
    // on a terminal and was left out of a log (whose lines follow each phase's tenths).
    private List<PretrainingInstance> CreateInstances(IReadOnlyList<int[][]> documents, int[] fileDocumentStart, string phase)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(fileDocumentStart);
        Options.Validate();
        if (documents.Count == 0)
        {
            throw new BertSharpException("empty corpus: the inputs contain no text.");
        }
        if (documents.Count < 2 && Options.Objective == PretrainingObjective.MaskedLmNextSentence)
        {
            throw new BertSharpException("the corpus has only one document; next-sentence prediction draws random segments from other documents, so at least 2 are needed (separate documents with a blank line).");
        }
        var all = CreateInstancesInDocumentOrder(documents, fileDocumentStart, phase);
        // google's rng.shuffle(instances).
        PretrainingRng.Derive(Options.Seed, -1).Shuffle(all);
        return all;
    }

    /// <summary>
    /// The instances before their final shuffle, unit after unit: per (file, dupe pass), with next-sentence prediction the
    /// file's documents in the order <see cref="DocumentOrder"/> gives them, the random next segments drawn from that
    /// shuffled list, as google's <c>create_training_instances</c> draws them after <c>rng.shuffle(all_documents)</c>.
    /// </summary>
    internal List<PretrainingInstance> CreateInstancesInDocumentOrder(IReadOnlyList<int[][]> documents, int[] fileDocumentStart, string phase = "instances")
    {
        var builder = new InstanceBuilder(Options, _vocab);
        var files = fileDocumentStart.Length - 1;
        var units = files * Options.DupeFactor;
        var results = new List<PretrainingInstance>[units];
        var packed = Options.Objective == PretrainingObjective.MaskedLm;
        // Packing shuffles each pass's documents itself (InstanceBuilder.CreatePacked).
        var order = packed ? [] : DocumentOrder(Options.Seed, documents.Count);
        IReadOnlyList<int[][]> shuffled = packed ? documents : order.Select(d => documents[d]).ToArray();
        // Each file's documents by their place in the shuffled list: the units stay per file (streams and merge order, so the
        // output does not depend on the thread count), each walking its documents in the shuffled order.
        var places = new int[order.Length];
        for (var k = 0; k < order.Length; k++)
        {
            places[order[k]] = k;
        }
        var filePlaces = packed
            ? []
            : Enumerable.Range(0, files).Select(f => places[fileDocumentStart[f]..fileDocumentStart[f + 1]].Order().ToArray()).ToArray();
        long done = 0;
        Parallel.For(0, units, new ParallelOptions { MaxDegreeOfParallelism = MaxDegreeOfParallelism, CancellationToken = Cancellation }, u =>
        {
            var (f, dupe) = (u / Options.DupeFactor, u % Options.DupeFactor);
            var rng = PretrainingRng.Derive(Options.Seed, f, dupe);
            var list = new List<PretrainingInstance>();
            if (packed)
            {
                builder.CreatePacked(documents, fileDocumentStart[f], fileDocumentStart[f + 1], rng, list);
            }
            else
            {
                foreach (var k in filePlaces[f])
                {
                    builder.CreateFromDocument(shuffled, k, rng, list);
                }
            }
            results[u] = list;
            Progress?.Report(new PretrainingProgress(phase, Interlocked.Increment(ref done), units));
        });
        var all = new List<PretrainingInstance>(results.Sum(r => r.Count));
        foreach (var r in results)
        {
            all.AddRange(r);
        }
        return all;
    }

    /// <summary>
    /// google's <c>rng.shuffle(all_documents)</c>: position k of the result is the index of the document that comes k-th,
    /// from the seed's own stream (not Python's Mersenne Twister, so the same seed orders them otherwise than google's script).
    /// </summary>
    internal static int[] DocumentOrder(long seed, int count)
    {
        var order = Enumerable.Range(0, count).ToArray();
        PretrainingRng.Derive(seed, -2).Shuffle(order);
        return order;
    }

    /// <summary>Statistics of the instances the last <see cref="Build"/> wrote (null before one succeeded).</summary>
    public PretrainingDataStats? Stats { get; private set; }

    /// <summary>
    /// Stops <see cref="Build"/> (Ctrl-C) with an <see cref="OperationCanceledException"/> between two documents or shards;
    /// the output directory is then as it was and the partly built data is removed.
    /// </summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Allow an output directory that holds files BertSharp did not write (they are kept; only BertSharp's own files are replaced).</summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// Builds <paramref name="outputDirectory"/> from <paramref name="inputs"/> atomically: on any error nothing at the
    /// output path changes. Returns the manifest written.
    /// </summary>
    public PretrainingManifest Build(IEnumerable<string> inputs, string outputDirectory)
    {
        Options.Validate();
        // 0 divided by zero; a negative size wrote a manifest listing instances but no shard, and returned as if it had worked.
        ArgumentOutOfRangeException.ThrowIfLessThan(ShardSize, 1);
        if (ValidationSplitPercentage is < 0 or > 50 || double.IsNaN(ValidationSplitPercentage))
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("validation_split_percentage")} {ValidationSplitPercentage}: expected a percentage of the documents in 0..50."));
        }
        var files = CorpusFiles.Expand(inputs);
        if (files.Count == 0)
        {
            throw new BertSharpException("no input files given.");
        }
        PretrainingManifest? manifest = null;
        List<PretrainingInstance> instances = [];
        // The corpus is read inside the write: the output is checked (foreign or other output, a place the system will not
        // let us write) and its staging directory made before the corpus is tokenized, not after minutes of work.
        AtomicFile.WriteDirectory(outputDirectory, tmp =>
        {
            var (documents, manifestInputs, starts) = Tokenize(files);
            if (documents.Count == 0)
            {
                // CreateInstances sees only documents: a directory of empty files, or a path typed wrongly, got
                // 'the inputs contain no text' without the files that were read.
                throw new BertSharpException(files.Count == 1
                    ? $"empty corpus: {files[0]} holds no text."
                    : Invariant($"empty corpus: none of the {files.Count} input files holds any text ({string.Join(", ", files.Take(3))}{(files.Count > 3 ? ", …" : "")})."));
            }
            if (ValidationSplitPercentage == 0)
            {
                instances = CreateInstances(documents, starts);
                if (instances.Count == 0)
                {
                    throw new BertSharpException("the corpus produced no training instances.");
                }
                manifest = Write(tmp, instances, documents.Count, manifestInputs, "write");
                return;
            }
            var held = HeldOutDocuments(documents.Count);
            var train = Subset(documents, starts, manifestInputs, held, heldOut: false);
            var validation = Subset(documents, starts, manifestInputs, held, heldOut: true);
            instances = CreateInstances(train.Documents, train.Starts, SplitPhase("instances", heldOut: false));
            var validationInstances = CreateInstances(validation.Documents, validation.Starts, SplitPhase("instances", heldOut: true));
            if (instances.Count == 0 || validationInstances.Count == 0)
            {
                throw new BertSharpException(instances.Count == 0 ? "the corpus produced no training instances." : "the held-out documents produced no instances.");
            }
            var validationDirectory = Path.Combine(tmp, ManifestValidation.DirectoryName);
            Directory.CreateDirectory(validationDirectory);
            Write(validationDirectory, validationInstances, validation.Documents.Count, validation.Inputs, SplitPhase("write", heldOut: true));
            manifest = Write(tmp, instances, train.Documents.Count, train.Inputs, SplitPhase("write", heldOut: false), new ManifestValidation
            {
                Percentage = ValidationSplitPercentage,
                Documents = validation.Documents.Count,
                Instances = validationInstances.Count,
            });
        }, Overwrite, DataKind);
        var stats = PretrainingDataStats.For(manifest!);
        foreach (var x in instances)
        {
            stats.Add(x, manifest!);
        }
        Stats = stats;
        return manifest!;
    }

    /// <summary>
    /// Which documents <see cref="ValidationSplitPercentage"/> holds out: the percentage of <paramref name="count"/>, rounded,
    /// at least one (two with next-sentence prediction), taken first from an order of its own stream of the seed.
    /// </summary>
    internal bool[] HeldOutDocuments(int count)
    {
        // Random next segments are drawn within a split, so each needs a second document to draw them from.
        var least = Options.Objective == PretrainingObjective.MaskedLmNextSentence ? 2 : 1;
        var take = (int)Math.Max(least, Math.Round(count * ValidationSplitPercentage / 100, MidpointRounding.AwayFromZero));
        if (count - take < least)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("validation_split_percentage")} {ValidationSplitPercentage}: the corpus has {count} document{(count == 1 ? "" : "s")}; holding out {take} leaves {count - take} for training, which needs at least {least}{(least == 2 ? " (next-sentence prediction draws random segments from another document of the same split)" : "")}; add documents or lower the percentage."));
        }
        var order = Enumerable.Range(0, count).ToArray();
        PretrainingRng.Derive(Options.Seed, -3).Shuffle(order);
        var held = new bool[count];
        foreach (var d in order.AsSpan(0, take))
        {
            held[d] = true;
        }
        return held;
    }

    /// <summary>The progress phase of one split's part of <paramref name="phase"/>.</summary>
    internal static string SplitPhase(string phase, bool heldOut) => $"{phase} ({(heldOut ? ManifestValidation.DirectoryName : "training")})";

    /// <summary>The documents of one split, in corpus order, with their per-file starts and counts.</summary>
    private static (List<int[][]> Documents, int[] Starts, List<ManifestInput> Inputs) Subset(List<int[][]> documents, int[] starts,
        List<ManifestInput> inputs, bool[] held, bool heldOut)
    {
        var docs = new List<int[][]>();
        var subStarts = new int[starts.Length];
        var subInputs = new List<ManifestInput>(inputs.Count);
        for (var f = 0; f < inputs.Count; f++)
        {
            subStarts[f] = docs.Count;
            long sentences = 0, tokens = 0;
            for (var d = starts[f]; d < starts[f + 1]; d++)
            {
                if (held[d] == heldOut)
                {
                    docs.Add(documents[d]);
                    sentences += documents[d].Length;
                    tokens += documents[d].Sum(x => (long)x.Length);
                }
            }
            subInputs.Add(new ManifestInput { Path = inputs[f].Path, Format = inputs[f].Format, Documents = docs.Count - subStarts[f], Sentences = sentences, Tokens = tokens });
        }
        subStarts[inputs.Count] = docs.Count;
        return (docs, subStarts, subInputs);
    }

    /// <summary>Writes the shards and the manifest of <paramref name="instances"/> into <paramref name="directory"/>.</summary>
    private PretrainingManifest Write(string directory, List<PretrainingInstance> instances, int documents, List<ManifestInput> inputs,
        string phase, ManifestValidation? validation = null)
    {
        var vocab = _vocab;
        var idWidth = _vocabTokens.Count <= 65536 ? 2 : 4;
        var manifest = new PretrainingManifest
        {
            VocabSha256 = _vocabSha256,
            VocabSize = _vocabTokens.Count,
            Lowercase = Lowercase,
            IdWidth = idWidth,
            ClsId = vocab.ClsId,
            SepId = vocab.SepId,
            MaskId = vocab.MaskId,
            PadId = vocab.PadId,
            MaxSeqLength = Options.MaxSeqLength,
            MaxPredictionsPerSeq = Options.MaxPredictionsPerSeq,
            MaskedLmProb = Options.MaskedLmProb,
            DupeFactor = Options.DupeFactor,
            ShortSeqProb = Options.ShortSeqProb,
            WholeWordMask = Options.WholeWordMask,
            BalancedNsp = Options.BalancedNsp,
            Objective = PretrainingObjectives.Name(Options.Objective),
            Seed = Options.Seed,
            Inputs = inputs,
            Documents = documents,
            Instances = instances.Count,
            RandomNext = instances.LongCount(x => x.IsRandomNext),
            Tokens = instances.Sum(x => (long)x.Length),
            MaskedTokens = instances.Sum(x => (long)x.MaskedPositions.Length),
            Validation = validation,
        };
        var shardCount = (instances.Count + ShardSize - 1) / ShardSize;
        var shards = new ConcurrentDictionary<int, ManifestShard>();
        long written = 0;
        try
        {
            WriteShards();
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // A shard that could not be written (a full disk) reaches the output's writer as the write failure it is, which
            // it names by the output directory; inside the parallel loop's AggregateException it was an internal error.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
        manifest.Shards = [.. Enumerable.Range(0, shardCount).Select(s => shards[s])];
        File.WriteAllText(Path.Combine(directory, PretrainingManifest.FileName), manifest.ToJson());
        return manifest;

        void WriteShards() => Parallel.For(0, shardCount, new ParallelOptions { MaxDegreeOfParallelism = MaxDegreeOfParallelism, CancellationToken = Cancellation }, s =>
        {
            var slice = instances.GetRange(s * ShardSize, Math.Min(ShardSize, instances.Count - (s * ShardSize)));
            var bytes = PretrainingShard.Encode(slice, idWidth);
            var name = Invariant($"shard-{s:D5}.bin");
            File.WriteAllBytes(Path.Combine(directory, name), bytes);
            shards[s] = new ManifestShard
            {
                File = name,
                Instances = slice.Count,
                Bytes = bytes.Length,
                Crc32 = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)).ToString("x8", CultureInfo.InvariantCulture),
            };
            Progress?.Report(new PretrainingProgress(phase, Interlocked.Increment(ref written), shardCount));
        });
    }

    private static string FormatName(CorpusFormat f) => f switch
    {
        CorpusFormat.Lines => "lines",
        CorpusFormat.DocumentPerLine => "document-per-line",
        CorpusFormat.Book => "book",
        _ => "auto",
    };
}
