using System.Text.Json;
using System.Text.Json.Nodes;

namespace BertSharp.Training;

/// <summary>
/// <c>train_log.jsonl</c>: one JSON object per line (a step, an epoch summary, the final result), appended and flushed as
/// training goes so the run can be followed (<c>tail -f</c>) and analysed afterwards.
/// </summary>
public sealed class TrainLog : IDisposable
{
    private readonly StreamWriter _writer;

    /// <summary>Creates (or truncates) the log file at <paramref name="path"/>.</summary>
    public TrainLog(string path)
    {
        Path = path;
        _writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false));
    }

    /// <summary>The log file.</summary>
    public string Path { get; }

    /// <summary>Appends one record; <paramref name="type"/> becomes its <c>"type"</c> field.</summary>
    public void Write(string type, JsonObject fields)
    {
        var o = new JsonObject { ["type"] = type };
        foreach (var (k, v) in fields)
        {
            o[k] = v?.DeepClone();
        }
        _writer.WriteLine(o.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
        _writer.Flush();
    }

    public void Dispose() => _writer.Dispose();
}
