using System.Security.Cryptography;
using System.Text.RegularExpressions;
using BertSharp.IO;

namespace BertSharp.Checkpoints;

/// <summary>A file of the folder being uploaded: its path in the repo and on disk.</summary>
internal sealed record HubLocalFile(string PathInRepo, string FullPath, long Size)
{
    /// <summary>The first 512 bytes, which huggingface_hub sends to <c>preupload</c> for the Hub to tell text from binary.</summary>
    public byte[] Sample()
    {
        using var fs = File.OpenRead(FullPath);
        var buffer = new byte[Math.Min(512, Size)];
        fs.ReadExactly(buffer);
        return buffer;
    }

    /// <summary>The LFS object id: sha256 of the content, lower-case hex.</summary>
    public string Sha256()
    {
        using var fs = File.OpenRead(FullPath);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    /// <summary>
    /// git's blob id (<c>git hash-object</c>: sha1 of <c>blob SIZE\0</c> and the content), the oid the Hub's preupload
    /// gives for a file stored in git, which huggingface_hub's <c>sha.git_hash</c> computes to compare with it.
    /// </summary>
    public string GitBlobSha1()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha.AppendData(System.Text.Encoding.ASCII.GetBytes(Invariant($"blob {Size}\0")));
        using (var fs = File.OpenRead(FullPath))
        {
            var buffer = new byte[1 << 16];
            for (int n; (n = fs.Read(buffer)) > 0;)
            {
                sha.AppendData(buffer, 0, n);
            }
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}

/// <summary>
/// Which files of a model directory an upload sends. Everything a model directory holds goes (config, weights and shards,
/// tokenizer files, model card, .gitattributes, training_args.json, modules.json and pooling folders, train_log.jsonl and
/// loss.png, eval/), except what upload_folder leaves out (<see cref="HubPathPatterns.DefaultIgnore"/>), what is not the
/// model (training checkpoints, bert's own bookkeeping), and what the caller's patterns filter out.
/// </summary>
internal static partial class HubUploadFiles
{
    /// <summary>
    /// The files of <paramref name="folder"/> in path order, after checking that it is a model directory a loader can read
    /// (config.json and weights, every shard an index lists), so that nothing is sent for a folder that is not one.
    /// </summary>
    /// <param name="folder">The model directory.</param>
    /// <param name="include">huggingface_hub's allow_patterns: when given, only paths matching one of them go.</param>
    /// <param name="exclude">huggingface_hub's ignore_patterns: paths matching one of them stay behind.</param>
    public static IReadOnlyList<HubLocalFile> Collect(string folder, IReadOnlyList<string>? include = null, IReadOnlyList<string>? exclude = null)
    {
        // Patterns are checked before the folder, so a typo is named even where the folder is wrong too.
        var allow = include?.Select(p => HubPathPatterns.Compile(p, "include")).ToList();
        var ignore = (exclude ?? []).Select(p => HubPathPatterns.Compile(p, "exclude"))
            .Concat(HubPathPatterns.DefaultIgnore.Select(p => HubPathPatterns.Compile(p, "exclude"))).ToList();
        if (!Directory.Exists(folder))
        {
            throw new BertSharpException($"{folder}: no such directory; expected a model directory (config.json and weights) to upload.");
        }
        if (!File.Exists(Path.Combine(folder, "config.json")))
        {
            throw new BertSharpException($"{folder}: no config.json: not a model directory; nothing was uploaded.");
        }
        // StateDictSource's own search and wording, so that upload refuses exactly the folders a load would.
        var weights = StateDictSource.FindWeightsFile(folder);
        if (weights.EndsWith(".index.json", StringComparison.Ordinal))
        {
            foreach (var shard in ShardIndex.Read(weights).Shards)
            {
                if (!File.Exists(Path.Combine(folder, shard)))
                {
                    throw new BertSharpException($"{weights}: shard {shard} is missing; nothing was uploaded.");
                }
            }
        }
        var files = new List<HubLocalFile>();
        Walk(folder, "", files);
        // filter_repo_objects: an allow list keeps only its matches, then the ignore list (with the defaults) drops its matches.
        files.RemoveAll(f => (allow is not null && !allow.Any(r => r.IsMatch(f.PathInRepo))) || ignore.Any(r => r.IsMatch(f.PathInRepo)));
        // Only what is sent is checked, so that a socket the patterns leave behind does not stop the upload.
        if (files.FirstOrDefault(f => !FileKind.IsRegular(f.FullPath)) is { } special)
        {
            throw new BertSharpException(
                $"{special.FullPath}: not a regular file (a FIFO, socket or device, which reading would block on or never finish); expected the model directory's files only, or leave it out with {BertSharpException.Field("exclude")}; nothing was uploaded.");
        }
        if (files.Count == 0 && (include is not null || exclude is { Count: > 0 }))
        {
            throw new BertSharpException(
                $"{folder}: {BertSharpException.Field("include")}/{BertSharpException.Field("exclude")} left no file to upload; nothing was uploaded.");
        }
        files.Sort((a, b) => string.CompareOrdinal(a.PathInRepo, b.PathInRepo));
        return files;
    }

    private static void Walk(string dir, string prefix, List<HubLocalFile> files)
    {
        foreach (var path in Directory.EnumerateFileSystemEntries(dir))
        {
            var name = Path.GetFileName(path);
            if (Skipped(name, topLevel: prefix.Length == 0))
            {
                continue;
            }
            if (Directory.Exists(path))
            {
                // A linked folder could lead back to its parent; a model directory has none (a Hub snapshot links files only).
                if (new DirectoryInfo(path).LinkTarget is null)
                {
                    Walk(path, prefix + name + "/", files);
                }
                continue;
            }
            if (File.Exists(path))
            {
                files.Add(new HubLocalFile(prefix + name, path, new FileInfo(path).Length));
            }
        }
    }

    /// <summary>
    /// bert's own bookkeeping, which no other tool reads: the <c>.bertsharp</c> ownership list and what an interrupted
    /// atomic write left (<c>.NAME.X.tmp</c>, <c>NAME.X.old</c>). Other hidden files go, as upload_folder sends them (a
    /// <c>.gitattributes</c> cloned from the Hub among them). A training run's <c>checkpoint-N/</c> folders hold optimizer
    /// state and earlier weights, many times the model's size, which a published model does not carry
    /// (<c>Trainer.push_to_hub</c> leaves them out too).
    /// </summary>
    private static bool Skipped(string name, bool topLevel) =>
        name == OutputDirectory.MarkerName || AtomicFile.IsLeftover(name) || (topLevel && CheckpointFolder().IsMatch(name));

    [GeneratedRegex("^checkpoint-[0-9]+$")]
    private static partial Regex CheckpointFolder();
}
