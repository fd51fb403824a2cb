using System.Diagnostics;
using BertSharp.Distributed;
using BertSharp.Tests.Infrastructure;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Distributed;

/// <summary>What can be checked in one process: the single-process communicator, the environment rules, the watchdog, the
/// rank-0 output policy, and the clear errors when Open MPI or NCCL are missing.</summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public sealed class CommunicatorTests
{
    [Fact]
    public void Local_communicator_is_one_rank_and_leaves_values_alone()
    {
        using var comm = new LocalCommunicator();
        using var t = tensor(new[] { 1.5f, -2f });
        comm.AllReduce(t, ReduceOp.Average);
        comm.Broadcast(t, 0);
        comm.Barrier();
        Assert.Equal([1.5f, -2f], t.data<float>().ToArray());
        Assert.Equal((0, 1, "local"), (comm.Rank, comm.WorldSize, comm.Backend));
        using var ints = tensor(new long[] { 3 });
        Assert.Contains("Average needs a floating-point tensor", Assert.Throws<ArgumentException>(() => comm.AllReduce(ints, ReduceOp.Average)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => comm.Broadcast(t, 1));
        // The untimed barrier names the lowest failed rank: this one, when its own work failed.
        Assert.Null(comm.BarrierWithoutTimeout());
        Assert.Equal(0, comm.BarrierWithoutTimeout(succeeded: false));
        var own = new IOException("disk full");
        Assert.Same(own, Assert.Throws<IOException>(() => Rank0Work.Run(comm, "the checkpoint at step 4", () => throw own)));
    }

    [Fact]
    public void Rank_0s_failed_solo_work_ends_every_rank_each_with_its_error()
    {
        // Rank 0's work throws: it tells the others at the meeting (where it used to be missing for ever) and keeps its own exception.
        var rank0 = new AgreeingRank(0, 2);
        var own = new IOException("disk full");
        Assert.Same(own, Assert.Throws<IOException>(() => Rank0Work.Run(rank0, "the checkpoint at step 4", () => throw own)));
        Assert.Equal([false], rank0.Arrivals);
        // The others learn it there and fail too, in one line that names the work and no command-line flag.
        var rank1 = new AgreeingRank(1, 2, failedRank: 0);
        var other = Assert.Throws<RankFailedException>(() => Rank0Work.Run(rank1, "the checkpoint at step 4", () => { }));
        Assert.Equal("rank 0 of 2 failed during the checkpoint at step 4; this rank stops with it (rank 0's own error says why).", other.Message);
        Assert.Equal(0, other.FailedRank);
        Assert.Equal([true], rank1.Arrivals);
        // A section that ended meets once: disposing it afterwards (as a using does, also when later work throws) adds nothing.
        var fine = new AgreeingRank(0, 2);
        using (var section = Rank0Work.Begin(fine, "the evaluation at step 2"))
        {
            section.End();
            // Ending it again is the caller's mistake, said as such (it was an ObjectDisposedException), and meets no one.
            Assert.Equal("The section of rank 0's work 'the evaluation at step 2' has already ended; End is called once per section, before Dispose.",
                Assert.Throws<InvalidOperationException>(section.End).Message);
        }
        Assert.Equal([true], fine.Arrivals);
    }

    [Fact]
    public void Collectives_refuse_an_expanded_tensor_whose_elements_share_memory()
    {
        // Over MPI the values travelled and then libtorch refused to write them back ("more than one element of the
        // written-to tensor refers to a single memory location", with a native stack trace); every backend refuses it first.
        using var comm = new LocalCommunicator();
        using var one = ones(1, 3);
        using var expanded = one.expand(4, 3);
        var e = Assert.Throws<ArgumentException>(() => comm.AllReduce(expanded));
        Assert.StartsWith("all-reduce writes its result into the tensor, but dimension 0 of [4, 3] repeats one element (an expanded view, stride 0)", e.Message);
        Assert.Equal("tensor", e.ParamName);
        Assert.StartsWith("broadcast writes its result", Assert.Throws<ArgumentException>(() => comm.Broadcast(expanded)).Message);
        // A size-1 dimension may have any stride.
        using var single = ones(3).expand(1, 3);
        comm.AllReduce(single);
    }

    [Fact]
    public void Data_parallel_over_one_rank_keeps_the_gradients_and_returns_the_weight()
    {
        manual_seed(3);
        using var model = nn.Linear(3, 2);
        using var loss = model.forward(ones(4, 3)).sum();
        loss.backward();
        var before = model.weight!.grad!.data<float>().ToArray();
        using var dp = new DataParallel(new LocalCommunicator(), model.named_parameters().ToList());
        dp.BroadcastParameters();
        Assert.Equal(4.0, dp.AverageGradients(4));
        Assert.Equal(before, model.weight!.grad!.data<float>().ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => dp.AverageGradients(-1));
    }

    [Fact]
    public void Launcher_variables_decide_rank_size_and_backend()
    {
        using var env = new EnvScope(("OMPI_COMM_WORLD_RANK", null), ("OMPI_COMM_WORLD_SIZE", null), (DistributedEnvironment.TimeoutVariable, null));
        Assert.Null(DistributedEnvironment.Launcher());
        Assert.IsType<LocalCommunicator>(DistributedEnvironment.Create());
        Assert.Equal(TimeSpan.FromMinutes(10), DistributedEnvironment.DefaultTimeout);
        Assert.Contains("expected auto, mpi, nccl or local", Assert.Throws<BertSharpException>(() => DistributedEnvironment.Create("gloo")).Message);

        env.Set("OMPI_COMM_WORLD_RANK", "2");
        env.Set("OMPI_COMM_WORLD_SIZE", "4");
        Assert.Equal((2, 4), DistributedEnvironment.Launcher());
        env.Set("OMPI_COMM_WORLD_SIZE", "2");
        Assert.Contains("expected 0 <= rank < size", Assert.Throws<BertSharpException>(() => DistributedEnvironment.Launcher()).Message);

        env.Set(DistributedEnvironment.TimeoutVariable, "1e9");
        Assert.Equal(TimeSpan.FromSeconds(1e9), DistributedEnvironment.DefaultTimeout);
        // Past TimeSpan's range this was an OverflowException ("internal error" from every rank).
        env.Set(DistributedEnvironment.TimeoutVariable, "1e12");
        Assert.Equal("BERTSHARP_DIST_TIMEOUT=1e12: expected a positive number of seconds, at most 1e9 (about 31 years).",
            Assert.Throws<BertSharpException>(() => DistributedEnvironment.DefaultTimeout).Message);
        env.Set(DistributedEnvironment.TimeoutVariable, "2.5");
        Assert.Equal(TimeSpan.FromSeconds(2.5), DistributedEnvironment.DefaultTimeout);
        env.Set(DistributedEnvironment.TimeoutVariable, "soon");
        Assert.Contains("BERTSHARP_DIST_TIMEOUT=soon: expected a positive number of seconds", Assert.Throws<BertSharpException>(() => DistributedEnvironment.DefaultTimeout).Message);
    }

    [Fact]
    public void Watchdog_aborts_a_collective_that_outlives_the_timeout_and_only_that()
    {
        using var aborted = new ManualResetEventSlim();
        var exitCode = 0;
        using var watchdog = new CollectiveWatchdog(TimeSpan.FromMilliseconds(200), "rank 0 of 2 (test)", code =>
        {
            exitCode = code;
            aborted.Set();
        });
        using (watchdog.Enter("quick all-reduce"))
        {
        }
        Thread.Sleep(300);
        Assert.False(aborted.IsSet, "a collective that returned in time was aborted");
        // The barrier at the end of Rank0Work (the backends' BarrierWithoutTimeout enters it so) waits as long as rank 0
        // validates or saves alone: a validation longer than the timeout aborted the job.
        using (watchdog.Enter("barrier while rank 0 works alone", Timeout.InfiniteTimeSpan))
        {
            Thread.Sleep(300);
        }
        Assert.False(aborted.IsSet, "the barrier without a timeout was aborted");
        var watch = Stopwatch.StartNew();
        using (watchdog.Enter("all-reduce that never returns"))
        {
            Assert.True(aborted.Wait(TimeSpan.FromSeconds(10)), "the watchdog did not fire");
        }
        Assert.Equal(CollectiveWatchdog.TimeoutExitCode, exitCode);
        Assert.InRange(watch.Elapsed.TotalMilliseconds, 150, 5000);
    }

    [Fact]
    public void A_rank_stopped_by_the_launcher_says_so_inside_a_collective_and_between_collectives()
    {
        // The launcher's SIGTERM comes whenever another rank dies: while rank 0 computes a step or saves a checkpoint too.
        using var watchdog = new CollectiveWatchdog(Timeout.InfiniteTimeSpan, "rank 0 of 2 (test)", _ => { });
        Assert.StartsWith("bertsharp: rank 0 of 2 (test): stopped by the launcher (SIGTERM) while computing, outside any collective: another rank exited",
            watchdog.StopMessage());
        using (watchdog.Enter("all-reduce of 4 Float32 values"))
        {
            Assert.StartsWith("bertsharp: rank 0 of 2 (test): stopped by the launcher (SIGTERM) while waiting in all-reduce of 4 Float32 values: another rank exited",
                watchdog.StopMessage());
        }
        Assert.Contains("while computing", watchdog.StopMessage());
        // bert launch passes its own SIGTERM on to mpirun: a stopped job gets the same line, which must not blame a rank only.
        Assert.EndsWith("(the launcher's message names it), or the job was stopped. Files already written are complete and intact.", watchdog.StopMessage());
    }

    [Fact]
    public void Ranks_other_than_0_print_nothing_to_stdout_and_prefix_their_errors()
    {
        var oldOut = Console.Out;
        var oldErr = Console.Error;
        using var outW = new StringWriter();
        using var errW = new StringWriter();
        Console.SetOut(outW);
        Console.SetError(errW);
        try
        {
            using (RankOutput.Apply(new FakeRank(1)))
            {
                Console.WriteLine("progress 50%");
                Console.Error.WriteLine("error: shard 3 is truncated");
                Console.Error.Write("second line\n");
            }
            using (RankOutput.Apply(new FakeRank(0)))
            {
                Console.WriteLine("loss 1.25");
            }
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
        Assert.Equal("loss 1.25\n", outW.ToString().ReplaceLineEndings("\n"));
        Assert.Equal("rank 1: error: shard 3 is truncated\nrank 1: second line\n", errW.ToString().ReplaceLineEndings("\n"));
        Assert.True(new FakeRank(0).IsWriter());
        Assert.False(new FakeRank(2).IsWriter());
    }

    [Fact]
    public void The_mpi_hosts_stderr_names_a_commands_rank_once()
    {
        var oldErr = Console.Error;
        using var host = new StringWriter();
        try
        {
            foreach (var rank in new[] { 0, 1 })
            {
                Console.SetError(DistributedHost.CommandStderr.Labelled(host, "ner-two", rank));
                // As a data-parallel bert command writes on each rank: labelled by RankOutput.Apply on ranks other than 0.
                using (RankOutput.Apply(new FakeRank(rank)))
                {
                    Console.Error.WriteLine("error: bad tag");
                }
                // A command that is not data-parallel leaves its lines unlabelled on every rank.
                Console.Error.WriteLine("warning: slow");
                Console.Error.Flush();
            }
        }
        finally
        {
            Console.SetError(oldErr);
        }
        Assert.Equal(
            "ner-two, rank 0: error: bad tag\nner-two, rank 0: warning: slow\nner-two, rank 1: error: bad tag\nner-two, rank 1: warning: slow\n",
            host.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_prefixed_line_reaches_the_stream_in_one_write()
    {
        // Under mpirun the ranks' stderr and mpirun's abort banner share one stream: a line must not arrive in pieces.
        var writes = new RecordingWriter();
        var prefixed = new RankOutput.PrefixWriter(writes, "rank 1: ");
        prefixed.WriteLine("error: internal error (InvalidOperationException): the ranks disagree");
        prefixed.Write("partial ");
        prefixed.Flush();
        prefixed.Write("rest\nnext");
        prefixed.Flush();
        Assert.Equal(
            ["rank 1: error: internal error (InvalidOperationException): the ranks disagree\n", "rank 1: partial ", "rest\n", "rank 1: next"],
            writes.Writes.Select(w => w.ReplaceLineEndings("\n")));
        // What a bert rank writes to (Cli.Commands.DataParallelRank.Quiet): the console's own writer passes a line on in
        // pieces of 256 characters, each its own write().
        var stream = new RecordingStream();
        var toStream = new RankOutput.PrefixWriter(Cli.Commands.DataParallelRank.OneWritePerCall(stream, new System.Text.UTF8Encoding(false)), "rank 1: ");
        var longLine = "error: " + new string('é', 1000);
        toStream.WriteLine(longLine);
        Assert.Equal(["rank 1: " + longLine + Environment.NewLine], stream.Writes.Select(System.Text.Encoding.UTF8.GetString));
    }

    private sealed class RecordingStream : MemoryStream
    {
        public List<byte[]> Writes { get; } = [];

        public override void Write(byte[] buffer, int offset, int count) => Writes.Add(buffer[offset..(offset + count)]);

        public override void Write(ReadOnlySpan<byte> buffer) => Writes.Add(buffer.ToArray());
    }

    [Fact]
    public void Missing_open_mpi_or_a_foreign_libmpi_is_named()
    {
        var missing = Assert.Throws<BertSharpException>(() => MpiLibrary.Load("/nonexistent/libmpi.so.40"));
        Assert.Contains("BERTSHARP_MPI_LIBRARY=/nonexistent/libmpi.so.40 could not be loaded", missing.Message);
        var foreign = Assert.Throws<BertSharpException>(() => MpiLibrary.Load("libc.so.6"));
        Assert.Contains("libc.so.6 has no export 'ompi_mpi_comm_world'", foreign.Message);
        Assert.Contains("apt-get install openmpi-bin libopenmpi-dev", foreign.Message);
    }

    [Fact]
    public void Missing_nccl_is_named_with_what_to_install()
    {
        var missing = Assert.Throws<BertSharpException>(() => NcclLibrary.Load(null, ["libnccl-not-here.so.2"]));
        Assert.Contains("NCCL backend: libnccl-not-here.so.2 was not found on the library path", missing.Message);
        Assert.Contains("nvidia-nccl-cu12", missing.Message);
        Assert.Contains("BERTSHARP_NCCL_LIBRARY", missing.Message);
        using (new EnvScope((NcclLibrary.PathVariable, "/nonexistent/libnccl.so.2")))
        {
            var configured = Assert.Throws<BertSharpException>(() => NcclCommunicator.Create(new LocalCommunicator(), 0));
            Assert.Contains("BERTSHARP_NCCL_LIBRARY=/nonexistent/libnccl.so.2 could not be loaded", configured.Message);
        }
        using (new EnvScope((NcclLibrary.PathVariable, "libc.so.6")))
        {
            var foreign = Assert.Throws<BertSharpException>(() => DistributedEnvironment.Create("nccl"));
            Assert.Contains("libc.so.6 has no export 'ncclGetVersion'; it is not NCCL 2.x", foreign.Message);
        }
    }

    [Fact]
    public void Nccl_takes_only_cuda_tensors_of_this_ranks_gpu_in_supported_dtypes()
    {
        using var cpu = ones(3);
        var e = Assert.Throws<ArgumentException>(() => NcclCommunicator.DataType(cpu, 0, "all-reduce"));
        Assert.StartsWith("NCCL all-reduce needs a CUDA tensor on cuda:0 (this rank's GPU); got one on cpu", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => NcclCommunicator.Create(new LocalCommunicator(), -1));
        Assert.Throws<ArgumentNullException>(() => NcclCommunicator.Create(null!, 0));
    }

    [Fact]
    public void Single_host_mpirun_arguments_carry_the_container_flags()
    {
        Assert.Equal(["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "3", "dotnet", "bert.dll", "doctor"],
            MpiLauncher.SingleHostArguments(3, ["dotnet", "bert.dll", "doctor"]));
        Assert.Equal("self,vader", MpiLauncher.SingleHostEnvironment["OMPI_MCA_btl"]);
        Assert.Equal("none", MpiLauncher.SingleHostEnvironment["OMPI_MCA_btl_vader_single_copy_mechanism"]);
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), MpiLauncher.ThreadsPerRank(2));
        Assert.Equal(1, MpiLauncher.ThreadsPerRank(10_000));
    }

    private sealed class FakeRank(int rank) : ICommunicator
    {
        public int Rank => rank;
        public int WorldSize => 3;
        public string Backend => "fake";
        public TimeSpan Timeout => TimeSpan.FromSeconds(1);
        public void AllReduce(Tensor tensor, ReduceOp op = ReduceOp.Sum) => throw new NotSupportedException();
        public void Broadcast(Tensor tensor, int root = 0) => throw new NotSupportedException();
        public void Barrier() => throw new NotSupportedException();
        public int? BarrierWithoutTimeout(bool succeeded = true) => throw new NotSupportedException();
        public void Dispose()
        {
        }
    }
}

/// <summary>Sets environment variables for a test and restores them afterwards (tests run one at a time).</summary>
internal sealed class EnvScope : IDisposable
{
    private readonly Dictionary<string, string?> _saved = [];

    public EnvScope(params (string Name, string? Value)[] values)
    {
        foreach (var (name, value) in values)
        {
            Set(name, value);
        }
    }

    public void Set(string name, string? value)
    {
        _saved.TryAdd(name, Environment.GetEnvironmentVariable(name));
        Environment.SetEnvironmentVariable(name, value);
    }

    public void Dispose()
    {
        foreach (var (name, value) in _saved)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
    }
}
