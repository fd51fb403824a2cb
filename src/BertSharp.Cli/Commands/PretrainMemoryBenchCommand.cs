using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using BertSharp.Training;
using BertSharp.Training.Pretraining;

namespace BertSharp.Cli.Commands;

/// <summary>
/// <c>bert bench pretrain-memory</c>: runs pre-training for many steps and samples the process's resident memory, to show
/// that per-step tensors are released (dispose scopes) and RSS stays flat.
/// </summary>
internal static class PretrainMemoryBenchCommand
{
    /// <summary>Adds <c>pretrain-memory</c> under the <c>bench</c> command of <paramref name="root"/>, creating <c>bench</c> if no other command did.</summary>
    public static void AddTo(RootCommand root)
    {
        var bench = root.Subcommands.FirstOrDefault(c => c.Name == "bench");
        if (bench is null)
        {
            bench = new Command("bench", "Measure throughput and memory.");
            root.Subcommands.Add(bench);
        }
        bench.Subcommands.Add(Create());
    }

    private static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Data directory written by 'bert pretrain-data'.", Required = true };
        var vocab = new Option<string>("--vocab") { Description = "vocab.txt the data was built with.", Required = true };
        var config = new Option<string>("--config") { Description = "A fresh model: a size preset (tiny, mini, small, medium, base, large) or a config.json file.", DefaultValueFactory = _ => "tiny" };
        var steps = new Option<long>("--steps")
        {
            Description = $"Training steps, at least {MinSteps}: the first 10 % are the warm-up, which fewer steps would leave under two steps.",
            DefaultValueFactory = _ => 1000,
        };
        var batch = CommonOptions.BatchSize("Instances per step.", () => 8);
        var every = new Option<long>("--sample-every") { Description = "Sample RSS every N steps.", DefaultValueFactory = _ => 50 };
        var device = CommonOptions.Device("cpu");
        var threads = CommonOptions.Threads();
        var cmd = new Command("pretrain-memory",
            "Pre-train for --steps steps and report resident memory (RSS, sampled after a full GC) over the run; flat means within ±5 % after the first 10 % of steps.");
        foreach (var o in new Option[] { data, vocab, config, steps, batch, every, device, threads })
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            CommonOptions.ApplyThreads(p, threads);
            var total = p.GetValue(steps);
            if (total < MinSteps)
            {
                // With fewer the warm-up is step 1 alone: allocations that settle over the first few steps were reported as
                // drift, or hid it.
                throw new BertSharpException($"--steps {total}: expected at least {MinSteps} (the first 10 % of the steps are the warm-up, at least two steps).");
            }
            var sampleEvery = p.GetValue(every);
            if (sampleEvery < 1)
            {
                throw new BertSharpException($"--sample-every {sampleEvery}: expected at least 1.");
            }
            // Known before training: the run used to train for all --steps and only then say it had too few samples.
            if (SettledSamples(total, sampleEvery) is var planned and < 2)
            {
                throw new BertSharpException($"--sample-every {sampleEvery}: leaves {planned} RSS sample(s) after the first 10 % of the {total} steps; " +
                                             "the drift needs at least two (lower --sample-every or raise --steps).");
            }
            var samples = new List<(long Step, double Mib, double ManagedMib)>();
            var output = Path.Combine(Path.GetTempPath(), "bertsharp-bench-" + Guid.NewGuid().ToString("N")[..8]);
            var clock = Stopwatch.StartNew();
            try
            {
                var options = new PretrainingTrainerOptions
                {
                    Steps = total,
                    BatchSize = p.GetValue(batch),
                    Device = p.GetValue(device) ?? "cpu",
                };
                // Ctrl-C / SIGTERM stop the run before its next step, so that the finally below removes the temporary
                // run directory: the signals' default ended the process and left it in the temp folder.
                StopSignals.Run(cancel => CliProgress.Run(progress =>
                {
                    var trainer = new PretrainingTrainer(options)
                    {
                        OnLog = e =>
                        {
                            if (e.Type != "train" || (e.Step % sampleEvery != 0 && e.Step != 1))
                            {
                                return;
                            }
                            // A full collection first, so that garbage the GC has not yet reclaimed (pinned batch arrays
                            // promoted to gen 2) is not mistaken for a leak; what remains is live or leaked memory.
                            GC.Collect();
                            GC.WaitForPendingFinalizers();
                            GC.Collect();
                            using var self = Process.GetCurrentProcess();
                            samples.Add((e.Step, self.WorkingSet64 / (1024.0 * 1024.0), GC.GetTotalMemory(false) / (1024.0 * 1024.0)));
                            progress.Report(("pretrain-memory", e.Step, total, string.Create(CultureInfo.InvariantCulture, $"RSS {samples[^1].Mib:F0} MiB")));
                        },
                    };
                    return trainer.Run(p.GetValue(data)!, output, new PretrainingModelSource(p.GetValue(config), p.GetValue(vocab)), resume: false, cancel);
                }));
            }
            catch (TrainingCancelledException e)
            {
                // Its message offers --resume, which a bench's temporary run does not have; the finally below removes the run
                // before the message is shown.
                throw new OperationCanceledException($"cancelled at step {e.Step} of {e.TotalSteps}; the temporary run was removed.", e);
            }
            finally
            {
                if (Directory.Exists(output))
                {
                    Directory.Delete(output, recursive: true);
                }
            }
            var inv = CultureInfo.InvariantCulture;
            foreach (var (step, mib, managed) in samples)
            {
                Console.Out.WriteLine(string.Create(inv, $"step {step,7}  RSS {mib,8:F1} MiB  managed heap {managed,7:F1} MiB"));
            }
            var settled = samples.Where(s => s.Step >= SettledFrom(total)).ToList();
            if (settled.Count < 2)
            {
                throw new BertSharpException("--steps/--sample-every leave fewer than two samples after the first 10 % of steps.");
            }
            var reference = settled[0].Mib;
            var drift = (settled[^1].Mib - reference) / reference;
            var spread = (settled.Max(s => s.Mib) - settled.Min(s => s.Mib)) / reference;
            var flat = Math.Abs(drift) <= 0.05 && spread <= 0.05 * 2;
            Console.Out.WriteLine(string.Create(inv,
                $"{{\"steps\":{total},\"seconds\":{clock.Elapsed.TotalSeconds:F1},\"rss_start_mib\":{reference:F1},\"rss_end_mib\":{settled[^1].Mib:F1},\"rss_min_mib\":{settled.Min(s => s.Mib):F1},\"rss_max_mib\":{settled.Max(s => s.Mib):F1},\"drift_percent\":{drift * 100:F2},\"flat\":{(flat ? "true" : "false")}}}"));
            return flat ? 0 : 1;
        });
        return cmd;
    }

    /// <summary>The fewest steps whose warm-up (<see cref="SettledFrom"/>) is at least two steps: 11, whose tenth rounds up to 2.</summary>
    private const long MinSteps = 11;

    /// <summary>
    /// The first step whose sample counts: the one after the warm-up, the first 10 % of the steps rounded up. Rounded down,
    /// 25 steps settled from step 2, inside their first tenth (2.5 steps).
    /// </summary>
    internal static long SettledFrom(long total) => (total + 9) / 10 + 1;

    /// <summary>
    /// Samples from <see cref="SettledFrom"/> on: every <paramref name="every"/>-th step (step 1, also sampled, is always in
    /// the warm-up).
    /// </summary>
    internal static long SettledSamples(long total, long every) => total / every - (SettledFrom(total) - 1) / every;
}
