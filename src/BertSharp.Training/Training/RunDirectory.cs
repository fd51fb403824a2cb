using System.Globalization;
using BertSharp.Checkpoints;
using BertSharp.IO;

namespace BertSharp.Training;

/// <summary>
/// The output directory of a training run: <c>checkpoint-N/</c> directories (each a complete model plus
/// <see cref="TrainerState"/> and <see cref="OptimizerState"/>, written atomically), <see cref="TrainLog.FileName"/> and
/// <see cref="LossPlot.FileName"/>. Opening one recovers what a killed run left (half-written checkpoints, temporary copies)
/// and refuses a directory holding files BertSharp did not write unless overwriting is allowed.
/// </summary>
public sealed class RunDirectory
{
    internal const string CheckpointPrefix = RunCheckpoints.Prefix;

    /// <summary>The section in which rank 0 alone opens the run directory and its log (<see cref="Distributed.Rank0Work"/>).</summary>
    internal const string OpeningWork = "opening the run directory and its log";

    // What Open found once it had finished what a killed write left: a run that stops before its first checkpoint is undone
    // back to it. Judged before that recovery, a directory restored from its interrupted replacement (the user's earlier
    // output) looked absent, and was deleted as the run's own. Null for a rank that writes nothing.
    private readonly OutputDirectoryInfo? _before;

    // The directory and the folders above it that Open made for it: the user's own folders stay when the run is undone.
    private readonly NewDirectories _made;

    private RunDirectory(string path, OutputDirectoryInfo? before, NewDirectories made)
    {
        Path = path;
        _before = before;
        _made = made;
    }

    /// <summary>
    /// Whether the directory holds a <see cref="ModelCard.FileName"/> that BertSharp did not write (the user's, in a folder
    /// written into with overwriting allowed): the run leaves it as it is and writes no card.
    /// </summary>
    internal bool HoldsUserModelCard => _before?.ForeignEntries.Contains(ModelCard.FileName) == true;

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <summary>Path of the log.</summary>
    public string LogPath => System.IO.Path.Combine(Path, TrainLog.FileName);

    /// <summary>Path of the loss plot.</summary>
    public string PlotPath => System.IO.Path.Combine(Path, LossPlot.FileName);

    /// <summary>
    /// Checks <paramref name="path"/> before a run starts (nothing is written): a resumed run needs a checkpoint there, a new
    /// run must not find one (an unfinished run would be overwritten), and a non-empty directory BertSharp did not write is
    /// refused unless <paramref name="overwrite"/>. Returns the checkpoint to resume from, or null for a new run.
    /// </summary>
    /// <param name="path">The directory.</param>
    /// <param name="resume">Whether the run continues from a checkpoint there.</param>
    /// <param name="overwrite">Allow a non-empty directory that BertSharp did not write.</param>
    /// <param name="kind">The run's kind (<see cref="Kind"/>): other BertSharp output there is refused, as the run would overwrite or replace it.</param>
    /// <exception cref="PathException"><paramref name="path"/> is a file or its marker is not one BertSharp wrote, or a resumed run finds no checkpoint there.</exception>
    /// <exception cref="UnfinishedRunException">A new run in a directory holding a checkpoint.</exception>
    /// <exception cref="ForeignOutputException">Not BertSharp's directory and <paramref name="overwrite"/> is false.</exception>
    /// <exception cref="OtherOutputException">The directory holds BertSharp output that is not <paramref name="kind"/>.</exception>
    public static string? Check(string path, bool resume, bool overwrite, OutputKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var full = AtomicFile.Normalize(path);
        var target = OutputDirectory.Inspect(full);
        target.ThrowIfForeign(overwrite);
        target.ThrowIfOtherKind(kind);
        var latest = LatestCheckpoint(full);
        if (resume)
        {
            if (latest is null && File.Exists(System.IO.Path.Combine(full, TrainingArgsFile.FileName)))
            {
                // A finished fine-tuning removed its checkpoints; "no complete checkpoint" read as if it had crashed.
                throw new PathException(full,
                    $"nothing to {BertSharpException.Field("resume")}: the run there has finished ({TrainingArgsFile.FileName} is written at its end); run without {BertSharpException.Field("resume")} to train it again.");
            }
            return latest ?? throw new PathException(full, $"nothing to {BertSharpException.Field("resume")}: no complete checkpoint-N directory.");
        }
        if (latest is not null)
        {
            throw new UnfinishedRunException(full, latest);
        }
        return null;
    }

    /// <summary>
    /// Creates or opens the run directory for writing: finishes or removes what a killed write left (the directory's own
    /// replacement, half-written checkpoints, temporary files) and records in its marker which entries are the run's.
    /// </summary>
    /// <param name="path">The directory.</param>
    /// <param name="overwrite">Allow a non-empty directory that BertSharp did not write.</param>
    /// <param name="kind">The run's kind (<see cref="Kind"/>): the entries it writes.</param>
    /// <exception cref="UnfinishedRunException">The directory, absent until its interrupted replacement was finished here, holds a checkpoint.</exception>
    /// <exception cref="OtherOutputException">The directory, absent until its interrupted replacement was finished here, holds BertSharp output that is not <paramref name="kind"/>.</exception>
    public static RunDirectory Open(string path, bool overwrite, OutputKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var full = AtomicFile.Normalize(path);
        var existed = Directory.Exists(full);
        AtomicFile.Recover(full);
        var before = OutputDirectory.Inspect(full);
        if (!existed && before.Exists)
        {
            // Restored from an interrupted replacement, after Check saw nothing there (a resumed run found its checkpoint, so
            // its directory existed): what Check would have refused in it is refused now, before the run writes anything.
            before.ThrowIfOtherKind(kind);
            if (LatestCheckpoint(full) is { } latest)
            {
                throw new UnfinishedRunException(full, latest);
            }
        }
        var made = NewDirectories.Before(full);
        // Claimed, the user's README.md would count as the run's own and be replaced by the card or deleted with the
        // directory; left unclaimed it stays theirs (every later Open of the run finds it unclaimed again).
        OutputDirectory.Claim(full, before.ForeignEntries.Contains(ModelCard.FileName) ? kind.Entries.Where(e => e != ModelCard.FileName) : kind.Entries, overwrite);
        AtomicFile.RecoverChildren(full);
        return new RunDirectory(full, before, made);
    }

    /// <summary>
    /// Opens the log of a run directory opened for writing (<see cref="Open"/>, <see cref="TrainLog.Open"/>). When the log
    /// cannot be opened the run never starts, so the opening is undone as for a run stopped before its first checkpoint
    /// (<see cref="RemoveUnfinished"/>): otherwise a directory the run made would stay behind, holding only its marker.
    /// </summary>
    internal TrainLog OpenLog(long? resumeStep)
    {
        try
        {
            return TrainLog.Open(LogPath, resumeStep);
        }
        catch
        {
            RemoveUnfinished();
            throw;
        }
    }

    /// <summary>A kind of run: checkpoints, the log and the plot, and <paramref name="entries"/> (names and patterns of what it writes besides).</summary>
    public static OutputKind Kind(string name, IEnumerable<string> entries) =>
        new(name, [CheckpointPrefix + "*", TrainLog.FileName, LossPlot.FileName, .. entries]);

    /// <summary>The run directory as a rank other than 0 of a data-parallel run sees it: nothing is created, claimed or recovered (rank 0 does that).</summary>
    public static RunDirectory ReadOnly(string path) => new(AtomicFile.Normalize(path), before: null, NewDirectories.None);

    /// <summary>The directory of the checkpoint after <paramref name="step"/> steps.</summary>
    public string CheckpointPath(long step) => System.IO.Path.Combine(Path, CheckpointPrefix + step.ToString(CultureInfo.InvariantCulture));

    /// <summary>The complete checkpoint with the most steps, or null.</summary>
    public string? LatestCheckpoint() => LatestCheckpoint(Path);

    /// <summary>
    /// Undoes a run that stopped before its first checkpoint, leaving the directory as <see cref="Open"/> found it once it had
    /// finished what a killed write left: removed when the run created it (with the folders above it that the run made, while
    /// nothing else has come into them); otherwise the entries of the run's kind that were not there then are removed (the
    /// marker too, when there was none) and the marker names what it named then. What was there (a directory restored from
    /// its interrupted replacement included) and what others put there meanwhile stays.
    /// </summary>
    internal void RemoveUnfinished()
    {
        if (_before is not { } before || !Directory.Exists(Path))
        {
            return;
        }
        if (!before.Exists)
        {
            Directory.Delete(Path, recursive: true);
            _made.RemoveEmpty();
            return;
        }
        // The directory itself stays: the user made it (and may have given it permissions or mounted it). A directory that
        // held only its marker kept the run's empty log beside it.
        var now = OutputDirectory.Inspect(Path);
        var added = now.Entries.Except(now.ForeignEntries).Except(before.Entries)
            .OrderBy(e => e == OutputDirectory.MarkerName); // the marker last: until then it names what is still to go
        foreach (var entry in added)
        {
            AtomicFile.Delete(System.IO.Path.Combine(Path, entry));
        }
        if (before.HasMarker && !now.Owned.SequenceEqual(before.Owned, StringComparer.Ordinal))
        {
            OutputDirectory.WriteMarker(Path, before.Owned);
        }
    }

    /// <summary>Removes the checkpoints whose step is not in <paramref name="keep"/>.</summary>
    public void Prune(IReadOnlySet<long> keep)
    {
        foreach (var (dir, step) in RunCheckpoints.In(Path))
        {
            if (!keep.Contains(step))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    /// <summary>The <c>checkpoint-N</c> directory of <paramref name="directory"/> with the largest N that holds a trainer state, or null.</summary>
    public static string? LatestCheckpoint(string directory) => RunCheckpoints.Newest(directory, TrainerState.FileName);
}

/// <summary>A new run asked to start in a directory that holds a checkpoint of an earlier run.</summary>
public sealed class UnfinishedRunException(string directory, string checkpoint) : BertSharpException(
    $"{directory}: holds {System.IO.Path.GetFileName(checkpoint)} of an earlier run; resume it, or choose another output directory.")
{
    /// <summary>The run directory.</summary>
    public string Directory { get; } = directory;

    /// <summary>Its latest checkpoint.</summary>
    public string Checkpoint { get; } = checkpoint;
}

/// <summary>
/// A run stopped by cancellation (Ctrl-C): the checkpoints written so far are kept and the run continues from
/// <see cref="Checkpoint"/> when resumed.
/// </summary>
public sealed class TrainingCancelledException(string directory, string? checkpoint, long step, long totalSteps)
    : OperationCanceledException(checkpoint is null
        ? Invariant($"training stopped at step {step} of {totalSteps} before its first checkpoint; nothing to resume in {directory}.")
        : Invariant($"training stopped at step {step} of {totalSteps}; {checkpoint} is complete and the run resumes from it."))
{
    /// <summary>The run directory.</summary>
    public string Directory { get; } = directory;

    /// <summary>The last complete checkpoint, or null when none was written.</summary>
    public string? Checkpoint { get; } = checkpoint;

    /// <summary>Steps done when the run stopped.</summary>
    public long Step { get; } = step;

    /// <summary>Steps of the whole run.</summary>
    public long TotalSteps { get; } = totalSteps;
}
