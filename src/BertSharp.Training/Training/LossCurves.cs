using System.Text.Json.Nodes;

namespace BertSharp.Training;

/// <summary>
/// The points of a run's loss curves, gathered entry by entry as the log grows: pre-training redraws <c>loss.png</c> at
/// every checkpoint, and re-reading a log of a line per step each time would cost O(steps) per checkpoint.
/// </summary>
internal sealed class LossCurves
{
    private readonly IReadOnlyList<LossPlot.Series> _series;
    private readonly List<(double X, double Y)>[] _points;

    public LossCurves(IReadOnlyList<LossPlot.Series> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        _series = series;
        _points = [.. series.Select(_ => new List<(double X, double Y)>())];
    }

    /// <summary>The (step, value) points of each series, in the order of the series.</summary>
    public IReadOnlyList<IReadOnlyList<(double X, double Y)>> Points => _points;

    /// <summary>The number of <c>train</c> entries seen (the steps in the plot's title).</summary>
    public int TrainSteps { get; private set; }

    /// <summary>Takes one log entry: its value of each series of its type, when finite.</summary>
    public void Add(JsonObject entry)
    {
        var type = TrainLog.TypeOf(entry);
        if (type == "train")
        {
            TrainSteps++;
        }
        for (var i = 0; i < _series.Count; i++)
        {
            if (_series[i].EntryType == type && LossPlot.Value(entry, _series[i].Field) is var y && double.IsFinite(y))
            {
                _points[i].Add((TrainLog.StepOf(entry), y));
            }
        }
    }

    /// <summary>Writes the plot of the points so far (as <see cref="LossPlot.Save"/> would from the whole log).</summary>
    public void Save(string path, string run) => LossPlot.Draw(path, LossPlot.Title(run, TrainSteps), _series, _points);
}
