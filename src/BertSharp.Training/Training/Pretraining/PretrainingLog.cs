using System.Text.Json.Nodes;

namespace BertSharp.Training.Pretraining;

/// <summary>
/// A pre-training line of <c>train_log.jsonl</c> (<see cref="TrainLog"/>), typed: the metrics of an optimizer step
/// (<c>"type": "train"</c>) or of a held-out evaluation (<c>"type": "eval"</c>).
/// </summary>
public sealed record PretrainingLogEntry
{
    /// <summary>"train" or "eval".</summary>
    public string Type { get; init; } = "train";

    /// <summary>The optimizer step (1-based) the line belongs to; an evaluation's is the step after which it ran.</summary>
    public long Step { get; init; }

    /// <summary>MLM + NSP loss.</summary>
    public double Loss { get; init; }

    /// <summary>
    /// Masked-LM cross-entropy per masked position (nats): a step's is the mean over the masked positions of its whole batch,
    /// an evaluation's HF's <c>eval_loss</c> of the masked LM, the mean of each held-out batch's mean weighted by the batch's
    /// instances (<see cref="PretrainingTask.Evaluate"/>).
    /// </summary>
    public double MaskedLmLoss { get; init; }

    /// <summary>
    /// <c>exp(</c><see cref="MaskedLmLoss"/><c>)</c>, the perplexity run_mlm.py reports from an evaluation's loss (infinity
    /// where it overflows, as run_mlm.py gives <c>float("inf")</c>); meant for evaluation lines.
    /// </summary>
    public double Perplexity => Math.Exp(MaskedLmLoss);

    /// <summary>Share of masked positions whose arg-max prediction is the original token.</summary>
    public double MaskedLmAccuracy { get; init; }

    /// <summary>Next-sentence cross-entropy per instance (nats), the mean over a step's or the held-out instances; NaN for a masked-LM-only run, whose lines have none.</summary>
    public double NextSentenceLoss { get; init; }

    /// <summary>Share of instances, in [0, 1], whose next-sentence prediction is right; NaN for a masked-LM-only run.</summary>
    public double NextSentenceAccuracy { get; init; }

    /// <summary>Learning rate of the step (NaN for evaluations).</summary>
    public double LearningRate { get; init; } = double.NaN;

    /// <summary>Global gradient norm before clipping (NaN for evaluations or without clipping).</summary>
    public double GradNorm { get; init; } = double.NaN;

    /// <summary>Real (non-padding) tokens processed per second in this step.</summary>
    public double TokensPerSecond { get; init; } = double.NaN;

    /// <summary>
    /// Real tokens per second over the steps this process has run up to this one (their tokens over their time, evaluations
    /// and checkpoints left out): the run's speed, where <see cref="TokensPerSecond"/> is one step's. A resumed run counts
    /// from its first step after the checkpoint. NaN in a log written before the figure was.
    /// </summary>
    public double MeanTokensPerSecond { get; init; } = double.NaN;

    /// <summary>
    /// Wall-clock seconds from the start of this process's training to the end of the step (a resumed run counts from 0 again);
    /// NaN for evaluations.
    /// </summary>
    public double ElapsedSeconds { get; init; } = double.NaN;

    /// <summary>
    /// HF's fractional epoch after the step (the instances consumed over the training instances: 2.5 halfway through the
    /// third pass); NaN for evaluations and in a log written before train lines carried it.
    /// </summary>
    public double Epoch { get; init; } = double.NaN;

    /// <summary>Data position after the step (instances consumed since the start of the run).</summary>
    public long DataPosition { get; init; }

    /// <summary>The typed view of a log line.</summary>
    public static PretrainingLogEntry From(JsonObject e) => new()
    {
        Type = TrainLog.TypeOf(e),
        Step = TrainLog.StepOf(e),
        Loss = TrainLog.Number(e, "loss"),
        MaskedLmLoss = TrainLog.Number(e, "masked_lm_loss"),
        MaskedLmAccuracy = TrainLog.Number(e, "masked_lm_accuracy"),
        NextSentenceLoss = TrainLog.Number(e, "next_sentence_loss"),
        NextSentenceAccuracy = TrainLog.Number(e, "next_sentence_accuracy"),
        LearningRate = TrainLog.Number(e, "learning_rate"),
        GradNorm = TrainLog.Number(e, "grad_norm"),
        TokensPerSecond = TrainLog.Number(e, "tokens_per_second"),
        MeanTokensPerSecond = TrainLog.Number(e, "mean_tokens_per_second"),
        ElapsedSeconds = TrainLog.Number(e, "elapsed_seconds"),
        Epoch = TrainLog.Number(e, "epoch"),
        DataPosition = double.IsFinite(TrainLog.Number(e, "data_position")) ? (long)TrainLog.Number(e, "data_position") : 0,
    };

    /// <summary>The pre-training entries (train and eval) of a log file, in order; a line cut short at the end is left out.</summary>
    public static List<PretrainingLogEntry> Read(string path) =>
        [.. TrainLog.Read(path).Where(e => TrainLog.TypeOf(e) is "train" or "eval").Select(From)];
}
