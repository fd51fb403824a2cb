using System.Text.Json.Nodes;
using BertSharp.Distributed;
using TorchSharp;

namespace BertSharp.Training;

/// <summary>
/// HF's <c>reduce_lr_on_plateau</c> (get_reduce_on_plateau_schedule: torch's <c>ReduceLROnPlateau</c> with the kwargs as
/// given, no warm-up): the rate starts at the base rate and is multiplied by <c>factor</c> (never below <c>min_lr</c>) when
/// the validation metric has not improved for more than <c>patience</c> validations. HF's Trainer steps it once per
/// validation with the metric of metric_for_best_model, never per optimizer step; its state is part of every checkpoint.
/// </summary>
internal sealed class ReduceLrOnPlateau
{
    /// <summary>HF's SchedulerType name.</summary>
    public const string Type = "reduce_lr_on_plateau";

    // The checkpoint's trainer state holds the scheduler's state under this key, as HF's checkpoint holds scheduler.pt.
    private const string StateKey = "lr_scheduler_state";

    private readonly bool _max;
    private readonly double _factor;
    private readonly long _patience;
    private readonly double _threshold;
    private readonly bool _abs;
    private readonly long _cooldown;
    private readonly double _minLr;
    private readonly double _eps;

    /// <summary>Reads torch's arguments, in its signature's order and with its defaults, from <paramref name="kw"/>.</summary>
    public ReduceLrOnPlateau(SchedulerKwargs kw, double lr)
    {
        _max = kw.Choice("mode", "min", ["min", "max"]) == "max";
        _factor = kw.Number("factor", 0.1);
        if (!(_factor < 1.0))
        {
            throw kw.Refused("factor should be < 1.0");
        }
        _patience = kw.WholeNumber("patience", 10, "a whole number of validations");
        _threshold = kw.Number("threshold", 1e-4);
        _abs = kw.Choice("threshold_mode", "rel", ["rel", "abs"]) == "abs";
        _cooldown = kw.WholeNumber("cooldown", 0, "a whole number of validations");
        _minLr = kw.Number("min_lr", 0);
        _eps = kw.Number("eps", 1e-8);
        LearningRate = lr;
        Best = Worst;
    }

    /// <summary>
    /// The one-line warning of a run that watches <paramref name="saveBest"/>, a metric where higher is better, in torch's
    /// default mode "min" (HF passes metric_for_best_model whatever it is, so the rate falls as the metric improves); null
    /// for another schedule, a given mode, or a loss.
    /// </summary>
    public static string? ModeWarning(string type, JsonObject? kwargs, string? saveBest) =>
        type != Type || kwargs?.ContainsKey("mode") == true || saveBest is null || SaveBestMetric.LowerIsBetter(saveBest)
            ? null
            : $"lr_scheduler_type {Type} watches save_best {saveBest} in torch's default mode \"min\", as HF does, "
              + $"so it lowers the rate when {saveBest} improves; give lr_scheduler_kwargs '{{\"mode\":\"max\"}}' to lower it when {saveBest} stops rising.";

    /// <summary>The rate of the next optimizer steps (torch's param_group["lr"]).</summary>
    public double LearningRate { get; private set; }

    /// <summary>The best metric so far (infinitely bad before the first validation).</summary>
    public double Best { get; private set; }

    /// <summary>Validations in a row without improvement (torch's num_bad_epochs).</summary>
    public long BadValidations { get; private set; }

    /// <summary>Validations left before bad ones count again after a reduction.</summary>
    public long CooldownCounter { get; private set; }

    private double Worst => _max ? double.NegativeInfinity : double.PositiveInfinity;

    /// <summary>torch's step(metrics): one validation's <paramref name="metric"/>.</summary>
    public void Step(double metric)
    {
        if (IsBetter(metric))
        {
            Best = metric;
            BadValidations = 0;
        }
        else
        {
            BadValidations++;
        }
        if (CooldownCounter > 0)
        {
            CooldownCounter--;
            BadValidations = 0;
        }
        if (BadValidations > _patience)
        {
            var reduced = Math.Max(LearningRate * _factor, _minLr);
            // torch leaves the rate alone when the cut is smaller than eps (a rate already at min_lr).
            if (LearningRate - reduced > _eps)
            {
                LearningRate = reduced;
            }
            CooldownCounter = _cooldown;
            BadValidations = 0;
        }
    }

    // torch's is_better, in its arithmetic: a NaN metric is never better, so it counts as a bad validation.
    private bool IsBetter(double a) => (_max, _abs) switch
    {
        (false, false) => a < Best * (1.0 - _threshold),
        (false, true) => a < Best - _threshold,
        (true, false) => a > Best * (_threshold + 1.0),
        (true, true) => a > Best + _threshold,
    };

    /// <summary>Writes the state into a checkpoint's task state (an infinite best, before any validation, as null: JSON has no infinity).</summary>
    public void Save(JsonObject state) => state[StateKey] = new JsonObject
    {
        ["learning_rate"] = LearningRate,
        ["best"] = double.IsInfinity(Best) ? null : Best,
        ["num_bad_epochs"] = BadValidations,
        ["cooldown_counter"] = CooldownCounter,
    };

    /// <summary>Continues from a checkpoint's task state.</summary>
    /// <exception cref="BertSharpException">The state lacks the scheduler's (a checkpoint of another schedule, which the resume check refuses first).</exception>
    public void Restore(JsonObject state, string file)
    {
        if (state[StateKey] is not JsonObject s)
        {
            throw new BertSharpException($"{file}: '{StateKey}' is missing; expected the state of the {Type} schedule.");
        }
        LearningRate = TrainLog.Number(s, "learning_rate");
        Best = s["best"] is null ? Worst : TrainLog.Number(s, "best");
        BadValidations = (long)TrainLog.Number(s, "num_bad_epochs");
        CooldownCounter = (long)TrainLog.Number(s, "cooldown_counter");
        if (!double.IsFinite(LearningRate))
        {
            throw new BertSharpException($"{file}: '{StateKey}' has no learning_rate; expected a number.");
        }
    }

    /// <summary>
    /// Rank 0's state on every rank: only rank 0 validates, and every rank must step at the same rate or the replicas'
    /// weights drift apart.
    /// </summary>
    public void Synchronize(ICommunicator communicator)
    {
        if (communicator.WorldSize == 1)
        {
            return;
        }
        using var t = torch.tensor(new[] { LearningRate, Best, BadValidations, CooldownCounter });
        communicator.Broadcast(t, 0);
        var v = t.data<double>().ToArray();
        (LearningRate, Best, BadValidations, CooldownCounter) = (v[0], v[1], (long)v[2], (long)v[3]);
    }
}
