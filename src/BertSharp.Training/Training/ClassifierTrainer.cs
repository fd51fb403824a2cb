using BertSharp.Data;
using BertSharp.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// The optimisation step of fine-tuning, as HF's Trainer does it: for each micro-batch forward + backward of loss / n,
/// then global-norm clipping, the learning rate of the linear schedule for this step, AdamW, zero the gradients.
/// </summary>
public sealed class ClassifierTrainer : IDisposable
{
    private readonly BertForSequenceClassification _model;
    private readonly AdamW _optimizer;
    private readonly IReadOnlyList<Parameter> _parameters;

    /// <param name="model">The classifier (put in train mode here).</param>
    /// <param name="optimizer">AdamW hyper-parameters (HF decay groups).</param>
    /// <param name="schedule">Learning rate per optimizer step.</param>
    /// <param name="maxGradNorm">Clip threshold; 0 or less disables clipping.</param>
    public ClassifierTrainer(BertForSequenceClassification model, AdamWOptions optimizer, LinearWarmupSchedule schedule, double maxGradNorm)
    {
        _model = model;
        Schedule = schedule;
        MaxGradNorm = maxGradNorm;
        _parameters = [.. model.NamedParameters().Select(p => p.Param).Where(p => p.requires_grad)];
        _optimizer = AdamWFactory.Create(model, optimizer);
    }

    /// <summary>The learning-rate schedule.</summary>
    public LinearWarmupSchedule Schedule { get; }

    /// <summary>The clip threshold.</summary>
    public double MaxGradNorm { get; }

    /// <summary>Optimizer steps taken.</summary>
    public int StepsDone { get; private set; }

    /// <summary>Gradient norm before clipping at the last step.</summary>
    public double LastGradNorm { get; private set; }

    /// <summary>Learning rate used by the last step.</summary>
    public double LastLearningRate { get; private set; }

    /// <summary>
    /// One optimizer step over <paramref name="microBatches"/> (gradient accumulation); returns each micro-batch's loss.
    /// </summary>
    public double[] Step(IReadOnlyList<TensorBatch> microBatches)
    {
        _model.train();
        var losses = new double[microBatches.Count];
        for (var i = 0; i < microBatches.Count; i++)
        {
            using var scope = NewDisposeScope();
            var b = microBatches[i];
            var output = _model.Forward(new BertInput(b.InputIds, b.AttentionMask, b.TokenTypeIds), b.Labels);
            var loss = output.Loss ?? throw new InvalidOperationException("training batch without labels");
            losses[i] = loss.to(torch.float64).cpu().item<double>();
            if (!double.IsFinite(losses[i]))
            {
                throw new BertSharpException(
                    $"the training loss became {losses[i]} at step {StepsDone + 1}; lower --lr or check the labels.");
            }
            (microBatches.Count == 1 ? loss : loss / microBatches.Count).backward();
        }
        LastGradNorm = MaxGradNorm > 0 ? GradientClipping.ClipByGlobalNorm(_parameters, MaxGradNorm) : double.NaN;
        LastLearningRate = Schedule.LearningRate(StepsDone);
        Schedule.Apply(_optimizer, StepsDone);
        _optimizer.step();
        _optimizer.zero_grad();
        StepsDone++;
        return losses;
    }

    public void Dispose() => _optimizer.Dispose();
}
