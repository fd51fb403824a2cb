namespace BertSharp.Training;

/// <summary>A fine-tuning task that reports its last step's micro-batches (for the log, progress and epoch loss).</summary>
internal interface IMicroBatchLosses
{
    /// <summary>Each micro-batch's loss of the last step, in order.</summary>
    IReadOnlyList<double> LastLosses { get; }

    /// <summary>Each micro-batch's example count of the last step, in order.</summary>
    IReadOnlyList<int> LastSizes { get; }
}
