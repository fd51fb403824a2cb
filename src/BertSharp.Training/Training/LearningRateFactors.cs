namespace BertSharp.Training;

/// <summary>
/// The lr_lambda of each of HF's schedules (transformers/optimization.py), in its own arithmetic order so that the factors
/// are HF's to the last bit, with the arguments <c>get_scheduler</c> passes: <c>constant</c> neither the warm-up nor kwargs,
/// <c>constant_with_warmup</c> and <c>inverse_sqrt</c> the warm-up alone, <c>reduce_lr_on_plateau</c> the kwargs alone
/// (<see cref="ReduceLrOnPlateau"/>), the rest the warm-up, the run's steps and kwargs.
/// </summary>
internal static class LearningRateFactors
{
    public static Func<long, double> Of(string type, SchedulerKwargs kw, double lr, long warmup, long total, out ReduceLrOnPlateau? plateau)
    {
        // get_scheduler returns the plateau schedule before it reads the warm-up: its rate starts at lr and falls only on
        // validations.
        var p = plateau = type == ReduceLrOnPlateau.Type ? new ReduceLrOnPlateau(kw, lr) : null;
        Func<long, double> f = type switch
        {
            "linear" => Linear(warmup, total),
            "cosine" => Cosine(warmup, total, kw.Number("num_cycles", 0.5), 0.0),
            "cosine_with_restarts" => CosineWithRestarts(warmup, total, kw.Number("num_cycles", 1)),
            "polynomial" => Polynomial(warmup, total, kw.Number("lr_end", 1e-7), kw.Number("power", 1.0), lr),
            "constant" => _ => 1.0,
            "constant_with_warmup" => WithWarmup(warmup, _ => 1.0),
            "inverse_sqrt" => InverseSqrt(warmup),
            ReduceLrOnPlateau.Type => _ => p!.LearningRate / lr,
            "cosine_with_min_lr" => Cosine(warmup, total, kw.Number("num_cycles", 0.5), MinLrRate(kw, lr)),
            "cosine_warmup_with_min_lr" => CosineWarmupWithMinLr(warmup, total, kw.Number("num_cycles", 0.5), MinLrRate(kw, lr), kw.OptionalNumber("warmup_lr_rate")),
            "warmup_stable_decay" => WarmupStableDecay(warmup, total, kw),
            _ => throw new BertSharpException(
                $"{BertSharpException.Field("lr_scheduler_type")} {type}: expected one of {string.Join(", ", LearningRateSchedule.Types)}."),
        };
        kw.RefuseOthers();
        return f;
    }

    // Every warm-up but WSD's: float(current_step) / float(max(1, num_warmup_steps)).
    private static Func<long, double> WithWarmup(long warmup, Func<long, double> after) =>
        step => step < warmup ? (double)step / Math.Max(1, warmup) : after(step);

    private static Func<long, double> Linear(long warmup, long total) =>
        WithWarmup(warmup, step => Math.Max(0.0, (double)(total - step) / Math.Max(1, total - warmup)));

    private static double Progress(long step, long warmup, long total) => (double)(step - warmup) / Math.Max(1, total - warmup);

    // _get_cosine_schedule_with_warmup_lr_lambda, whose min_lr_rate 0 (cosine) leaves the factor as it is: x * 1 + 0 == x.
    private static Func<long, double> Cosine(long warmup, long total, double cycles, double minLrRate) =>
        WithWarmup(warmup, step =>
        {
            var factor = 0.5 * (1.0 + Math.Cos(Math.PI * cycles * 2.0 * Progress(step, warmup, total)));
            return Math.Max(0, (factor * (1 - minLrRate)) + minLrRate);
        });

    // _get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda: unlike every other warm-up its first step is already
    // above 0 ((s + 1) / warmup, or warmup_lr_rate), and its cosine starts one step into the decay.
    private static Func<long, double> CosineWarmupWithMinLr(long warmup, long total, double cycles, double minLrRate, double? warmupLrRate) =>
        step =>
        {
            if (step < warmup)
            {
                return warmupLrRate is { } w
                    ? w + ((1.0 - w) * step / Math.Max(1, warmup - 1))
                    : (step + 1.0) / Math.Max(1.0, warmup);
            }
            var progress = (step - warmup + 1.0) / Math.Max(1.0, total - warmup);
            var factor = 0.5 * (1.0 + Math.Cos(Math.PI * cycles * 2.0 * progress));
            return Math.Max(0, (factor * (1 - minLrRate)) + minLrRate);
        };

    private static Func<long, double> CosineWithRestarts(long warmup, long total, double cycles) =>
        WithWarmup(warmup, step =>
        {
            var progress = Progress(step, warmup, total);
            // C#'s % is Python's for the non-negative operands here.
            return progress >= 1.0 ? 0.0 : Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * (cycles * progress % 1.0))));
        });

    private static Func<long, double> Polynomial(long warmup, long total, double lrEnd, double power, double lrInit)
    {
        if (!(lrInit > lrEnd))
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("lr_scheduler_kwargs")} polynomial: lr_end ({lrEnd}) must be smaller than the initial {BertSharpException.Field("learning_rate")} ({lrInit})."));
        }
        return WithWarmup(warmup, step =>
        {
            // Past the run, and at its end when it is all warm-up (where HF divides by zero decay steps), the end rate.
            if (step > total || total == warmup)
            {
                return lrEnd / lrInit;
            }
            var remaining = 1 - ((double)(step - warmup) / (total - warmup));
            return (((lrInit - lrEnd) * Math.Pow(remaining, power)) + lrEnd) / lrInit;
        });
    }

    // get_scheduler passes inverse_sqrt no kwargs, so its timescale is always the default.
    private static Func<long, double> InverseSqrt(long warmup)
    {
        var timescale = warmup == 0 ? 10_000 : warmup;
        var shift = timescale - warmup;
        return WithWarmup(warmup, step => 1.0 / Math.Sqrt((double)(step + shift) / timescale));
    }

    private static double MinLrRate(SchedulerKwargs kw, double lr)
    {
        var (minLr, rate) = (kw.OptionalNumber("min_lr"), kw.OptionalNumber("min_lr_rate"));
        var resolved = (minLr, rate) switch
        {
            ({ }, { }) => throw kw.Refused("only one of min_lr or min_lr_rate should be set"),
            ({ } m, null) => m / lr,
            (null, { } r) => r,
            _ => throw kw.Refused("one of min_lr or min_lr_rate should be set"),
        };
        // HF turns min_lr into min_lr_rate = min_lr / lr and schedules with the rate alone: two runs whose rates are equal
        // schedule alike, whichever of the two each was given.
        kw.ResolveAs("min_lr_rate", resolved, replacing: "min_lr");
        return resolved;
    }

    private static readonly string[] WsdShapes = ["linear", "cosine", "1-sqrt"];

    private static Func<long, double> WarmupStableDecay(long warmup, long total, SchedulerKwargs kw)
    {
        var decaySteps = kw.Integer("num_decay_steps") ?? throw kw.Refused("num_decay_steps is required");
        var stableSteps = kw.Integer("num_stable_steps") ?? total - warmup - decaySteps;
        var warmupType = kw.Choice("warmup_type", "linear", WsdShapes);
        var decayType = kw.Choice("decay_type", "cosine", WsdShapes);
        var minLrRatio = kw.Number("min_lr_ratio", 0);
        var cycles = kw.Number("num_cycles", 0.5);
        double Floor(double factor) => Math.Max(0.0, (factor * (1.0 - minLrRatio)) + minLrRatio);
        return step =>
        {
            if (step < warmup)
            {
                var progress = (double)step / Math.Max(1, warmup);
                return Floor(warmupType switch
                {
                    "linear" => progress,
                    "cosine" => 0.5 * (1.0 - Math.Cos(Math.PI * progress)),
                    _ => 1.0 - Math.Sqrt(1.0 - progress),
                });
            }
            if (step < warmup + stableSteps)
            {
                return 1.0;
            }
            if (step < warmup + stableSteps + decaySteps)
            {
                var progress = (double)(step - warmup - stableSteps) / Math.Max(1, decaySteps);
                return Floor(decayType switch
                {
                    "linear" => 1.0 - progress,
                    "cosine" => 0.5 * (1.0 + Math.Cos(Math.PI * cycles * 2.0 * progress)),
                    _ => 1.0 - Math.Sqrt(progress),
                });
            }
            return minLrRatio;
        };
    }
}
