using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.IO;

namespace BertSharp.Training;

/// <summary>
/// <c>train_log.jsonl</c> of every run (fine-tuning and pre-training): one JSON object per line, each with a <c>"type"</c>
/// (<c>start</c>, <c>train</c>, <c>eval</c>, <c>epoch</c>, <c>resume</c>, <c>end</c>) and the optimizer <c>"step"</c> it
/// belongs to, then snake_case fields. Lines are appended and flushed as training goes, so the run can be followed
/// (<c>tail -f</c>). Each line is written in one call ending in a newline: a line without one is a write that a kill or a
/// full disk cut short, and <see cref="Open"/> drops it.
/// </summary>
public sealed class TrainLog : IDisposable
{
    /// <summary>The log's file name in a run directory.</summary>
    public const string FileName = "train_log.jsonl";

    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
    private readonly FileStream? _stream;
    // The lines of a log without a file (ranks other than 0). A file-backed log keeps nothing in memory: a long pre-training
    // run logs every step (a few hundred bytes each), and its entries are read back from the file when asked for.
    private readonly List<string> _lines;

    private TrainLog(string path, List<string> lines, bool write = true)
    {
        Path = path;
        _lines = lines;
        // Unbuffered: a line that a full disk refused is not written again when the log is disposed, which failed as the
        // line had and kept the run's clean-up from running.
        _stream = write ? new FileStream(AppendTo(path), FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0) : null;
    }

    /// <summary>
    /// The file the lines of the log at a path go to: that path. A test sends them to <c>/dev/full</c> to fail a run's first
    /// line as a full disk does; nothing else makes the file a run has just opened refuse a write.
    /// </summary>
    internal static Func<string, string> AppendTo { get; set; } = path => path;

    /// <summary>The log file.</summary>
    public string Path { get; }

    /// <summary>Every entry, those read back at <see cref="Open"/> included (parsed afresh on each call).</summary>
    public IReadOnlyList<JsonObject> Entries => _stream is null ? [.. _lines.Select(l => (JsonObject)JsonNode.Parse(l)!)] : Read(Path);

    /// <summary>
    /// Opens the log at <paramref name="path"/> for appending. A new run (<paramref name="resumeStep"/> null) starts an empty
    /// file. A resumed run keeps the entries up to its checkpoint's step and drops the rest (the steps it will redo) and a cut
    /// last line; a malformed line before it is an error naming the line.
    /// </summary>
    public static TrainLog Open(string path, long? resumeStep)
    {
        var kept = resumeStep is { } step && File.Exists(path)
            ? Read(path).Where(e => StepOf(e) <= step).Select(e => e.ToJsonString(Compact)).ToList()
            : [];
        AtomicFile.WriteAllText(path, string.Concat(kept.Select(l => l + "\n")));
        return new TrainLog(path, []);
    }

    /// <summary>
    /// The log of a data-parallel rank other than 0 (rank 0 writes the file): entries are kept in memory only, from this
    /// invocation on.
    /// </summary>
    public static TrainLog InMemory(string path) => new(path, [], write: false);

    /// <summary>Reads a log, leaving out a last line that was cut short; any other malformed line is an error naming it.</summary>
    public static List<JsonObject> Read(string path)
    {
        string text;
        // Shared for writing: the run's own append stream may be open.
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        using (var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: false)))
        {
            text = reader.ReadToEnd();
        }
        var lines = text.Split('\n');
        // Every complete line ends in '\n', so the last piece is empty unless a write was cut off.
        var complete = lines.Length - 1;
        var entries = new List<JsonObject>();
        for (var i = 0; i < complete; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }
            StrictJson.RefuseLoneSurrogates(path, lines[i], i + 1);
            try
            {
                entries.Add(JsonNode.Parse(lines[i]) as JsonObject ?? throw new JsonException("not a JSON object"));
            }
            catch (JsonException e)
            {
                throw new BertSharpException($"{LineRef.At(path, i + 1)}: not a log entry ({LineRef.JsonReason(e)}); expected one JSON object per line.", e);
            }
        }
        return entries;
    }

    /// <summary>Appends one entry: <c>{"type": type, "step": step, ...fields}</c>, flushed to the file at once.</summary>
    public JsonObject Append(string type, long step, JsonObject? fields = null)
    {
        var o = new JsonObject { ["type"] = type, ["step"] = step };
        foreach (var (k, v) in fields ?? [])
        {
            o[k] = v is JsonValue value && value.TryGetValue<double>(out var d) && !double.IsFinite(d) ? null : v?.DeepClone();
        }
        var line = o.ToJsonString(Compact);
        if (_stream is null)
        {
            _lines.Add(line);
        }
        else
        {
            _stream.Write(Encoding.UTF8.GetBytes(line + "\n"));
            _stream.Flush();
        }
        return o;
    }

    /// <summary>Forces the appended lines to the disk (at checkpoints, so a checkpoint never runs ahead of its log).</summary>
    public void Sync() => _stream?.Flush(flushToDisk: true);

    /// <summary>The <c>"step"</c> of an entry (0 when absent).</summary>
    public static long StepOf(JsonObject entry)
    {
        var n = Number(entry, "step");
        return double.IsFinite(n) ? (long)n : 0;
    }

    /// <summary>The <c>"type"</c> of an entry.</summary>
    public static string TypeOf(JsonObject entry) => entry?["type"]?.GetValue<string>() ?? "";

    /// <summary>A numeric field of an entry, or NaN when absent or null.</summary>
    public static double Number(JsonObject entry, string name)
    {
        // Values read from the file are JSON numbers; values appended in this process keep their CLR type.
        if (entry?[name] is not JsonValue v)
        {
            return double.NaN;
        }
        return v.TryGetValue<double>(out var d) ? d
            : v.TryGetValue<long>(out var l) ? l
            : v.TryGetValue<int>(out var i) ? i
            : v.TryGetValue<float>(out var f) ? f
            : double.NaN;
    }

    /// <summary>Closes the log file (lines already appended are on it); a log without a file has nothing to free.</summary>
    public void Dispose() => _stream?.Dispose();
}
