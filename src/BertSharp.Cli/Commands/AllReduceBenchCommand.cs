using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BertSharp.Distributed;
using BertSharp.Modeling;
using BertSharp.Runtime;
using TorchSharp;

namespace BertSharp.Cli.Commands;

/// <summary>
/// <c>bert bench allreduce</c> (run under <c>bert launch</c> or mpirun): times the data-parallel gradient synchronisation of
/// a real BERT pre-training model's parameters (bucketed, as training does) and one all-reduce of the same values as a
/// single flat buffer, and checks the averaged values. Rank 0 prints one JSON line.
/// </summary>
internal static class AllReduceBenchCommand
{
    public static void AddTo(RootCommand root)
    {
        var bench = root.Subcommands.First(c => c.Name == "bench");
        var config = new Option<string>("--config") { Description = "Model size preset whose gradients are synchronised.", DefaultValueFactory = _ => "base" };
        var steps = new Option<int>("--steps") { Description = "Timed steps (after one untimed warm-up step).", DefaultValueFactory = _ => 5 };
        var bucketMb = new Option<double>("--bucket-mb") { Description = "Bucket size in MiB.", DefaultValueFactory = _ => GradientBuckets.DefaultBucketBytes / 1048576.0 };
        var cmd = new Command("allreduce", "Time the gradient all-reduce of a BERT model per step across the ranks of 'bert launch --nproc N -- bench allreduce'.");
        cmd.Options.Add(config);
        cmd.Options.Add(steps);
        cmd.Options.Add(bucketMb);
        cmd.SetAction(p => Run(p.GetValue(config)!, p.GetValue(steps), p.GetValue(bucketMb)));
        bench.Subcommands.Add(cmd);
    }

    private static int Run(string preset, int steps, double bucketMb)
    {
        if (steps < 1)
        {
            throw new BertSharpException($"--steps {steps}: expected at least 1.");
        }
        // Whole bytes: below one byte the bucket limit was 0 and DataParallel's own argument check surfaced as an internal error.
        if (!(bucketMb * 1048576 >= 1) || double.IsInfinity(bucketMb))
        {
            throw new BertSharpException(string.Create(CultureInfo.InvariantCulture, $"--bucket-mb {bucketMb}: expected a finite number of MiB, at least one byte (1/1048576)."));
        }
        if (!BertConfig.PresetNames.Contains(preset.Trim().ToLowerInvariant()))
        {
            throw new BertSharpException($"--config {preset}: expected a size preset ({string.Join(", ", BertConfig.PresetNames)}).");
        }
        TorchRuntime.EnsureLoaded();
        if (DistributedEnvironment.Launcher() is not { Size: > 1 })
        {
            throw new BertSharpException("bench allreduce measures communication between ranks; run it as 'bert launch --nproc 2 -- bench allreduce'.");
        }
        var comm = DistributedEnvironment.Create("mpi");
        // Not undone when the command ends (as DataParallelRank.Join): an error must reach the error handler with the rank's prefix.
        DataParallelRank.Quiet(comm);
        using var model = new BertForPreTraining(BertConfig.Preset(preset));
        var parameters = model.NamedParameters();
        // Gradient of Σ c·p is c everywhere: every rank holds the constant c = rank + 1, so the average is (n + 1) / 2.
        using var rankPlusOne = (comm.Rank + 1).ToScalar();
        using (var scope = torch.NewDisposeScope())
        {
            parameters.Select(x => x.Param.sum()).Aggregate(StableScalars.Add).mul(rankPlusOne).backward();
        }
        var elements = parameters.Sum(x => x.Param.numel());
        using var dp = new DataParallel(comm, parameters, (long)(bucketMb * 1048576));
        var bucketed = new List<double>();
        for (var step = 0; step <= steps; step++)
        {
            comm.Barrier();
            var watch = Stopwatch.StartNew();
            dp.SumGradients();
            if (step > 0)
            {
                bucketed.Add(watch.Elapsed.TotalMilliseconds);
            }
        }
        // The timed sums grew the gradients; reset them to c = rank + 1 and check that one average gives (n + 1) / 2.
        var n = comm.WorldSize;
        using (torch.no_grad())
        {
            foreach (var (_, param) in parameters)
            {
                param.grad!.fill_(rankPlusOne);
            }
        }
        dp.AverageGradients(1);
        var expected = (n + 1) / 2.0;
        var ok = parameters.All(x => Math.Abs(x.Param.grad!.reshape(-1)[0].item<float>() - expected) < 1e-6 && Math.Abs(x.Param.grad!.reshape(-1)[-1].item<float>() - expected) < 1e-6);
        var flat = new List<double>();
        using (var buffer = torch.ones(elements, dtype: torch.ScalarType.Float32))
        {
            for (var step = 0; step <= steps; step++)
            {
                comm.Barrier();
                var watch = Stopwatch.StartNew();
                comm.AllReduce(buffer, ReduceOp.Sum);
                if (step > 0)
                {
                    flat.Add(watch.Elapsed.TotalMilliseconds);
                }
            }
        }
        var bytes = elements * 4.0;
        var median = Median(bucketed);
        var seconds = median / 1000;
        var line = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["config"] = preset,
            ["ranks"] = n,
            ["threads_per_rank"] = torch.get_num_threads(),
            ["tensors"] = parameters.Count,
            ["elements"] = elements,
            ["megabytes"] = Math.Round(bytes / 1e6, 1),
            ["bucket_mib"] = bucketMb,
            ["buckets"] = dp.LastBucketCount,
            ["steps"] = steps,
            ["bucketed_ms_median"] = Math.Round(median, 1),
            ["bucketed_ms_min"] = Math.Round(bucketed.Min(), 1),
            ["flat_ms_median"] = Math.Round(Median(flat), 1),
            // nccl-tests' convention: algorithm bandwidth = bytes / time; bus bandwidth = algbw · 2(n-1)/n, the per-link rate of a ring.
            ["algbw_gb_per_s"] = Significant(bytes / seconds / 1e9),
            ["busbw_gb_per_s"] = Significant(bytes / seconds / 1e9 * 2 * (n - 1) / n),
            ["average_correct"] = ok,
            ["mpi"] = ((MpiCommunicator)comm).LibraryVersion.Split(',')[0],
            // Other work on the machine slows the copies through shared memory; the load says how idle the run was.
            ["cores"] = Environment.ProcessorCount,
            ["load_average_1m"] = LoadAverage(),
        });
        Console.WriteLine(line);
        return ok ? 0 : 1;
    }

    /// <summary>
    /// <paramref name="value"/> to three significant digits (whole numbers from 1,000 up). Bandwidths span orders of magnitude: shared-memory copies on a
    /// loaded machine give a few MB/s, NVLink hundreds of GB/s; a fixed two decimals printed 0 GB/s for the former.
    /// </summary>
    internal static double Significant(double value)
    {
        if (value == 0 || !double.IsFinite(value))
        {
            return value;
        }
        var decimals = 2 - (int)Math.Floor(Math.Log10(Math.Abs(value)));
        return decimals > 15 ? value : Math.Round(value, Math.Max(0, decimals));
    }

    private static double? LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
