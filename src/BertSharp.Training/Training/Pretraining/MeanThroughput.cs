namespace BertSharp.Training.Pretraining;

/// <summary>
/// A process's mean training speed: the tokens of its steps over their time, its first step left out once a second has run.
/// The first step also pays for the warm-up (JIT compilation of the whole step, libtorch's first allocations, the kernels'
/// first calls), several times a later step's time on a small model, and a short run's mean read as far too slow.
/// </summary>
internal sealed class MeanThroughput
{
    private bool _warm;
    private long _tokens;
    private double _seconds;

    /// <summary>
    /// Records a step of <paramref name="tokens"/> tokens that took <paramref name="seconds"/>; returns the mean in tokens per
    /// second: the first step's own speed while it is the only one, then that of the steps after it.
    /// </summary>
    public double Add(long tokens, double seconds)
    {
        if (!_warm)
        {
            _warm = true;
            return tokens / Math.Max(1e-9, seconds);
        }
        _tokens += tokens;
        _seconds += seconds;
        return _tokens / Math.Max(1e-9, _seconds);
    }
}
