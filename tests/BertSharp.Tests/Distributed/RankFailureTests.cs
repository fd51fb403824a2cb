using BertSharp.Checkpoints;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Distributed;

/// <summary>
/// A rank killed during <c>bert pretrain</c> on 2 Open MPI ranks ends the job with a message, and the checkpoints left behind
/// are whole. Only child processes train (each with its own torch generator), so this class runs beside the others.
/// </summary>
public sealed class RankFailureTests(DataParallelTrainingTests.Corpus corpus) : IClassFixture<DataParallelTrainingTests.Corpus>
{
    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [SkippableFact]
    public void A_rank_killed_during_pretraining_ends_the_job_with_a_message_and_the_last_checkpoint_intact()
    {
        MpiJob.RequireMpirun();
        using var tmp = TestPaths.TempDir();
        var data = corpus.Data();
        var model = DataParallelTrainingTests.Model(tmp, "pretraining", dropout: false);
        var output = tmp.File("run");
        var args = DataParallelTrainingTests.Pretrain(data, model, output, "--save-every", "2").Select(a => a == "10" ? "100000" : a).ToArray();
        using var job = MpiJob.Start(2, MpiJob.Bert(args));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!Directory.Exists(Path.Combine(output, "checkpoint-2")) && DateTime.UtcNow < deadline && !job.Process.HasExited)
        {
            Thread.Sleep(100);
        }
        Assert.True(Directory.Exists(Path.Combine(output, "checkpoint-2")), "no checkpoint-2 within 60 s");
        var victim = job.RankPid(1);
        Assert.NotNull(victim);
        System.Diagnostics.Process.GetProcessById(victim.Value).Kill();
        var result = job.Wait();
        var said = result.StdErr + result.StdOut;
        Assert.NotEqual(0, result.ExitCode);
        // The launcher's SIGTERM finds rank 0 in a collective or computing between them (a step, the checkpoint); it says so either way.
        Assert.Matches(@"rank 0 of 2 \(mpi\): stopped by the launcher \(SIGTERM\) while (waiting in|computing)", said);
        Assert.Contains("signal 9", said);
        // Every checkpoint left behind is complete (written atomically) and loads.
        var last = RunDirectory.LatestCheckpoint(output)!;
        var state = TrainerState.Load(Path.Combine(last, TrainerState.FileName));
        Assert.True(state.GlobalStep >= 2 && state.GlobalStep % 2 == 0, $"step {state.GlobalStep}");
        using var reloaded = BertPretrained.Load<BertForPreTraining>(last);
        Assert.All(Directory.GetDirectories(output, "checkpoint-*"), d => Assert.True(File.Exists(Path.Combine(d, TrainerState.FileName)), d));
    }
}
