using System.Diagnostics;
using System.Text.Json;
using BertSharp.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.DistributedHost;

/// <summary>
/// One rank of a multi-process test: <c>host SCENARIO OUTDIR</c> runs a scenario over the MPI communicator and writes
/// what it observed to <c>OUTDIR/rank{r}.json</c>. Scenarios: <c>collectives</c> (all-reduce, broadcast, barrier,
/// data-parallel gradients and failed work of rank 0 alone), <c>stuck R</c> (after a late start of the last rank, rank R never joins an all-reduce), <c>kill R</c> (rank R is killed by SIGKILL
/// before an all-reduce), <c>fail R</c> (rank R reports an error and aborts the job while the others wait), <c>disagree</c>
/// (see <see cref="Disagree"/>); and
/// <c>cli SCRIPT [--keep-going]</c> (see <see cref="CliRuns"/>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var scenario = args[0];
        var outDir = args[1];
        if (scenario == "cli")
        {
            return CliRuns(outDir, args[2], keepGoing: args.Length > 3 && args[3] == "--keep-going");
        }
        using var comm = DistributedEnvironment.Create("mpi");
        var result = new Dictionary<string, object> { ["rank"] = comm.Rank, ["size"] = comm.WorldSize, ["backend"] = comm.Backend };
        switch (scenario)
        {
            case "collectives":
                Collectives(comm, result);
                break;
            case "stuck":
                Stuck(comm, int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
                break;
            case "kill":
                Kill(comm, int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
                break;
            case "fail":
                Fail(comm, int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
                break;
            case "disagree":
                Disagree(comm);
                break;
            default:
                Console.Error.WriteLine($"unknown scenario {scenario}");
                return 64;
        }
        File.WriteAllText(Path.Combine(outDir, $"rank{comm.Rank}.json"), JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>The script line's option that limits the size of the files its command writes (see <see cref="CliRuns"/>).</summary>
    public const string FileSizeLimitFlag = "--file-size-limit";

    /// <summary>The script line's option that limits the size of the files its command writes once an entry matching a path exists (see <see cref="CliRuns"/>).</summary>
    public const string FileSizeLimitAfterFlag = "--file-size-limit-after";

    /// <summary>
    /// Runs the <c>bert</c> command lines of <paramref name="script"/> (a JSON array of [name, arg, ...]) one after another in
    /// this process, each as <c>bert</c>'s own entry point runs it (as one rank under mpirun, or alone), and writes
    /// <c>OUTDIR/NAME.rankR.json</c> with its exit code and output; its stderr also reaches this process's, each line after
    /// "NAME, rank R: ". A process start per command line costs about a
    /// CPU-second (libtorch, JIT): the data-parallel tests' 30 command lines took 30 processes. Each file also holds the
    /// command's CPU time and the process's peak RSS during it (reset before each command), for tests that bound a command's
    /// resources. Stops at the first failing command (which, as one rank of several, has stopped the whole job), unless
    /// <paramref name="keepGoing"/> (one process running commands expected to fail, such as refusals). <c>{rank}</c> in an
    /// argument becomes this process's rank (0 alone), for a file that only some ranks may read. A line
    /// <c>[NAME, "--file-size-limit", BYTES, arg, ...]</c> runs its command with every file it writes limited to BYTES
    /// (<see cref="FileSizeLimit"/>: a full disk without root), lifted again before this process writes the command's result;
    /// <c>[NAME, "--file-size-limit-after", PATH, BYTES, arg, ...]</c> sets that limit only once an entry matching PATH (a
    /// pattern in its file name: <c>run/checkpoint-*</c>) exists, a disk that fills after the command's first checkpoint.
    /// </summary>
    private static int CliRuns(string outDir, string script, bool keepGoing)
    {
        var rank = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK") ?? "0";
        using var self = Process.GetCurrentProcess();
        foreach (var line in JsonSerializer.Deserialize<string[][]>(File.ReadAllText(script))!)
        {
            // What earlier commands left for the GC would count towards this one's peak.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            PeakRss.Reset();
            self.Refresh();
            var cpuBefore = self.TotalProcessorTime;
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            Console.SetOut(stdout);
            // Passed on to this process's stderr as well, a line at a time: a rank that fails as one of several aborts the job
            // from inside the command (MPI_Abort), before this writes its result file, and its error would reach no one.
            Console.SetError(new TeeWriter(stderr, CommandStderr.Labelled(oldErr, line[0], int.Parse(rank, System.Globalization.CultureInfo.InvariantCulture))));
            var (limit, args) = line switch
            {
                [_, FileSizeLimitFlag, var bytes, ..] => ((Func<IDisposable>?)(() => FileSizeLimit.Set(Bytes(bytes))), line[3..]),
                [_, FileSizeLimitAfterFlag, var path, var bytes, ..] => (() => FileSizeLimit.SetOnceExists(path, Bytes(bytes)), line[4..]),
                _ => (null, line[1..]),
            };
            int code;
            try
            {
                using var _ = limit?.Invoke();
                code = Cli.Program.Main([.. args.Select(a => a.Replace("{rank}", rank, StringComparison.Ordinal))]);
            }
            finally
            {
                Console.Error.Flush();
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
            }
            self.Refresh();
            var cpuSeconds = (self.TotalProcessorTime - cpuBefore).TotalSeconds;
            File.WriteAllText(Path.Combine(outDir, $"{line[0]}.rank{rank}.json"), JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["exit"] = code, ["stdout"] = stdout.ToString(), ["stderr"] = stderr.ToString(), ["cpu_seconds"] = cpuSeconds, ["peak_rss_kb"] = PeakRss.Kilobytes(),
            }));
            if (code != 0 && !keepGoing)
            {
                Console.Error.WriteLine($"{line[0]}, rank {rank}: exit {code}");
                return code;
            }
        }
        return 0;
    }

    private static long Bytes(string value) => long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);

    private static void Collectives(ICommunicator comm, Dictionary<string, object> result)
    {
        var r = comm.Rank;
        using (var t = tensor(Enumerable.Range(0, 10).Select(i => (float)(i * (r + 1))).ToArray()))
        {
            comm.AllReduce(t, ReduceOp.Sum);
            result["sum_f32"] = t.data<float>().ToArray();
        }
        using (var t = tensor(Enumerable.Repeat((double)r, 5).ToArray()))
        {
            comm.AllReduce(t, ReduceOp.Average);
            result["avg_f64"] = t.data<double>().ToArray();
        }
        using (var t = tensor(new long[] { r, -r, 7 * r }))
        {
            using var max = t.clone();
            comm.AllReduce(max, ReduceOp.Max);
            comm.AllReduce(t, ReduceOp.Min);
            result["max_i64"] = max.data<long>().ToArray();
            result["min_i64"] = t.data<long>().ToArray();
        }
        using (var m = tensor(Enumerable.Range(0, 6).Select(i => (float)(i + 100 * r)).ToArray()).reshape(2, 3))
        using (var view = m.t())
        {
            // A non-contiguous view: the result must land in the viewed storage.
            comm.AllReduce(view, ReduceOp.Sum);
            result["sum_transposed"] = m.data<float>().ToArray();
        }
        using (var t = tensor(Enumerable.Repeat(10 * r + 1, 4).ToArray()))
        {
            comm.Broadcast(t, 0);
            result["bcast_root0"] = t.data<int>().ToArray();
        }
        using (var t = tensor(Enumerable.Repeat(10.0f * r + 0.5f, 3).ToArray()))
        {
            comm.Broadcast(t, comm.WorldSize - 1);
            result["bcast_last"] = t.data<float>().ToArray();
        }
        using (var half = ones(2, dtype: ScalarType.Float16))
        {
            try
            {
                comm.AllReduce(half);
                result["f16_error"] = "no error";
            }
            catch (ArgumentException e)
            {
                result["f16_error"] = e.Message;
            }
        }
        // Barrier: rank r arrives r·300 ms late; no rank may leave before the last one arrived. The late arrivals count from a
        // common start: ranks leave the broadcasts above at different times (the root first), and on a loaded machine that
        // skew once ate 200 ms of the stagger the test checks.
        comm.Barrier();
        Thread.Sleep(300 * r);
        result["barrier_enter_ms"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        comm.Barrier();
        result["barrier_leave_ms"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // Data parallel: models initialised differently per rank become rank 0's; gradients of each rank's slice of a
        // 5-example batch (and of a 2-example batch, where some rank may get nothing) average to the full-batch gradient.
        foreach (var (label, globalBatch) in new[] { ("dp5", 5), ("dp2", 2) })
        {
            using var model = DataParallelModel.Create(1000 + r);
            using var dp = new DataParallel(comm, model.named_parameters().ToList(), bucketBytes: 64);
            dp.BroadcastParameters();
            result[label + "_params"] = Flatten(model.parameters().Select(p => (Tensor)p));
            var (start, count) = DataSharding.Slice(globalBatch, r, comm.WorldSize);
            if (count > 0)
            {
                var (x, y) = DataParallelModel.Batch(globalBatch);
                using var loss = DataParallelModel.Loss(model, x[start..(start + count)], y[start..(start + count)]);
                loss.backward();
            }
            var total = dp.AverageGradients(count);
            result[label + "_total_weight"] = total;
            result[label + "_buckets"] = dp.LastBucketCount;
            result[label + "_grads"] = Flatten(model.parameters().Select(p => p.grad!));
        }
        // A parameter frozen on rank 1 only: the start-up check names it on every rank (the first step's all-reduce said only
        // that the ranks disagree on a count of values).
        using (var model = DataParallelModel.Create(1000 + r))
        {
            if (r == 1)
            {
                model.named_parameters().Single(p => p.name == "2.bias").parameter.requires_grad = false;
            }
            using var dp = new DataParallel(comm, model.named_parameters().ToList());
            try
            {
                dp.BroadcastParameters();
                result["mismatch_trainable"] = "no error";
            }
            catch (BertSharpException e)
            {
                result["mismatch_trainable"] = e.Message;
            }
        }
        FailedSoloWork(comm, result);
        Mismatches(comm, result);
    }

    /// <summary>
    /// Work of rank 0 alone that throws (a checkpoint on a full disk) in a process that catches the exception and goes on,
    /// then work that throws on every rank but 0: every rank records the error it got and how long it took; the others used
    /// to wait for rank 0 for ever.
    /// </summary>
    private static void FailedSoloWork(ICommunicator comm, Dictionary<string, object> result)
    {
        foreach (var (label, fails) in new[] { ("rank0_work", (Func<int, bool>)(r => r == 0)), ("others_work", r => r != 0) })
        {
            var watch = Stopwatch.StartNew();
            try
            {
                Rank0Work.Run(comm, "the checkpoint at step 4", () =>
                {
                    if (fails(comm.Rank))
                    {
                        throw new IOException($"rank {comm.Rank}: no space left on device");
                    }
                });
                result[label] = "no error";
            }
            catch (Exception e) when (e is IOException or RankFailedException)
            {
                result[label] = e.Message;
            }
            result[label + "_ms"] = watch.ElapsedMilliseconds;
        }
    }

    /// <summary>
    /// Collectives the ranks call differently (element count, dtype, reduce operation, root, kind): every rank records the
    /// error it got and its tensor afterwards (untouched); the ranks stay in step, so a matching all-reduce follows.
    /// </summary>
    private static void Mismatches(ICommunicator comm, Dictionary<string, object> result)
    {
        var r = comm.Rank;
        string Error(Action call)
        {
            try
            {
                call();
                return "no error";
            }
            catch (InvalidOperationException e)
            {
                return e.Message;
            }
        }
        using (var t = tensor(Enumerable.Repeat(1.0f + r, 4 + r).ToArray()))
        {
            result["mismatch_count"] = Error(() => comm.AllReduce(t));
            result["mismatch_count_after"] = t.data<float>().ToArray();
        }
        using (var t = ones(4, dtype: r == 0 ? ScalarType.Float32 : ScalarType.Int32))
        {
            result["mismatch_dtype"] = Error(() => comm.AllReduce(t));
        }
        using (var t = ones(4))
        {
            result["mismatch_op"] = Error(() => comm.AllReduce(t, r == 0 ? ReduceOp.Sum : ReduceOp.Max));
        }
        using (var t = tensor(Enumerable.Repeat((float)r, 4).ToArray()))
        {
            result["mismatch_root"] = Error(() => comm.Broadcast(t, r));
            result["mismatch_root_after"] = t.data<float>().ToArray();
        }
        using (var t = ones(4))
        {
            result["mismatch_kind"] = Error(() =>
            {
                if (r == 0)
                {
                    comm.Barrier();
                }
                else
                {
                    comm.AllReduce(t);
                }
            });
            result["matching_after_mismatches"] = Error(() => comm.AllReduce(t));
            result["matching_sum"] = t.data<float>().ToArray();
        }
    }

    private static void Stuck(ICommunicator comm, int stuckRank)
    {
        // First a late start: the last rank comes to the trainer 7 s after the others, longer than the test's 5 s timeout;
        // the ranks meet there without the timeout (start-up is each rank's own pace), so the job gets to the stuck rank.
        // The trainer's set-up broadcasts after that meeting are timed: with a 2 s timeout a loaded machine kept one rank
        // from them long enough to abort the job there, and with 5 s a machine loaded 4× did. That set-up (the parameters'
        // hash, staged into buckets, broadcast and copied back) cost each rank about 270 ms of CPU with the tiny preset's
        // 30,522-word embeddings, 100 ms with a 64-word vocabulary (2 vCPUs, 2026-12-06): less time for a starved rank to
        // fall behind in, on the same path through the trainer.
        if (comm.Rank == comm.WorldSize - 1)
        {
            Thread.Sleep(TimeSpan.FromSeconds(7));
        }
        var config = BertSharp.Modeling.BertConfig.Preset("tiny");
        config.VocabSize = 64;
        using (var model = BertSharp.Modeling.BertPretrained.Create<BertSharp.Modeling.BertForSequenceClassification>(config))
        using (BertSharp.Training.Trainer.ForRanks(model, new BertSharp.Training.OptimizerSettings(1e-3, 1e-6, 0.01, 1.0, 0, 1), comm))
        {
        }
        // Only the stuck all-reduce may time out: on a loaded machine a rank can leave the trainer's set-up more than the
        // test's timeout after another, and a timed barrier here then aborted the job with another message.
        comm.BarrierWithoutTimeout();
        if (comm.Rank == stuckRank)
        {
            Thread.Sleep(Timeout.Infinite);
        }
        using var t = ones(4);
        comm.AllReduce(t);
    }

    private static void Kill(ICommunicator comm, int victim)
    {
        using (var warm = ones(4))
        {
            comm.AllReduce(warm); // compiles the all-reduce path, so the others reach the next one without delay
        }
        comm.Barrier();
        if (comm.Rank == victim)
        {
            // Die while the others are already waiting in the all-reduce, as a rank that crashes mid-step would.
            Thread.Sleep(1500);
            Process.GetCurrentProcess().Kill();
        }
        using var t = ones(4);
        comm.AllReduce(t);
    }

    private static void Fail(ICommunicator comm, int failing)
    {
        comm.Barrier();
        if (comm.Rank == failing)
        {
            // What the bert CLI does on an error: report it, then stop every rank instead of finalising.
            Console.Error.WriteLine($"error: rank {comm.Rank} cannot read its data");
            MpiCommunicator.AbortIfRunning(2);
        }
        using var t = ones(4);
        comm.AllReduce(t);
    }

    private static void Disagree(ICommunicator comm)
    {
        // The peer of another program (MPMD): after a barrier, an all-reduce its first one will not match. This rank takes the
        // disagreement quietly and waits, so that the job ends by the other rank's error alone.
        comm.Barrier();
        using (var t = ones(4))
        {
            try
            {
                comm.AllReduce(t);
            }
            catch (InvalidOperationException)
            {
            }
        }
        Thread.Sleep(Timeout.Infinite);
    }

    private static float[] Flatten(IEnumerable<Tensor> tensors) => [.. tensors.SelectMany(t => t.detach().reshape(-1).data<float>().ToArray())];
}
