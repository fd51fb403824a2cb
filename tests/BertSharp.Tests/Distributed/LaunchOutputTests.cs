using System.Text;
using BertSharp.Cli.Commands;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Distributed;

/// <summary>
/// How <c>bert launch</c> shows <c>mpirun --tag-output</c>'s streams. The inputs are what Open MPI 4.1.4 wrote here (captured
/// with <c>cat -A</c>: a rank's chunks tagged, mpirun's blocks untagged); the expected outputs are written by hand.
/// </summary>
public sealed class LaunchOutputTests
{
    private const string Rule = "--------------------------------------------------------------------------\n";
    private const string TaskMissing = "error: --task: required; one of imdb, cola, sst2, mrpc, csv, tsv, jsonl.";

    private static readonly string PrimaryJob = Rule + "Primary job  terminated normally, but 1 process returned\n" +
        "a non-zero exit code. Per user-direction, the job has been aborted.\n" + Rule;

    private static readonly string FirstFailed = Rule + "mpirun detected that one or more processes exited with non-zero status, thus causing\n" +
        "the job to be terminated. The first process to do so was:\n\n  Process name: [[18615,1],0]\n  Exit code:    2\n" + Rule;

    private static readonly string Abort = Rule + "MPI_ABORT was invoked on rank 1 in communicator MPI_COMM_WORLD\nwith errorcode 2.\n\n" +
        "NOTE: invoking MPI_ABORT causes Open MPI to kill all MPI processes.\nYou may or may not see output from other processes, depending on\n" +
        "exactly when Open MPI kills them.\n" + Rule;

    [Fact]
    public void A_line_every_rank_writes_is_shown_once_without_mpiruns_blocks()
    {
        // bert launch --nproc 2 -- finetune --data X --output Y, as mpirun wrote it; then with rank 1 first.
        Assert.Equal(TaskMissing + "\n", Fold($"[1,0]<stderr>:{TaskMissing}\n", PrimaryJob, $"[1,1]<stderr>:{TaskMissing}\n", FirstFailed));
        Assert.Equal(TaskMissing + "\n", Fold($"[1,1]<stderr>:{TaskMissing}\n", PrimaryJob, $"[1,0]<stderr>:{TaskMissing}\n", FirstFailed));
    }

    [Fact]
    public void Lines_only_some_ranks_write_are_shown_once_after_the_ranks_that_wrote_them()
    {
        // Ranks other than 0 label their lines themselves once they joined (RankOutput); the label is not doubled.
        Assert.Equal("stopped\nrank 1: error: rank 1 cannot read its data\n",
            Fold("[1,1]<stderr>:rank 1: error: rank 1 cannot read its data\n", Abort, "[1,0]<stderr>:stopped\n"));
        Assert.Equal("a\nranks 1, 2: b\nrank 2: c\n",
            Fold("[1,1]<stderr>:rank 1: b\n", "[1,0]<stderr>:a\n", "[1,2]<stderr>:b\n[1,2]<stderr>:c\n", "[1,1]<stderr>:a\n"));
    }

    [Fact]
    public void Rank_0s_text_passes_through_as_it_arrives()
    {
        var shown = new StringWriter();
        using var stderr = new LaunchOutput(shown, mpirunSpeaks: true);
        // A progress bar redrawn in place: mpirun tags each chunk it reads, not each line.
        stderr.Write("[1,0]<stderr>:\rstep 1");
        Assert.Equal("\rstep 1", shown.ToString());
        // Another rank's line in the middle of rank 0's, and a tag cut between two reads.
        stderr.Write("[1,1]<stderr>:rank 1: slow\n[1,0]<std");
        Assert.Equal("\rstep 1", shown.ToString());
        stderr.Write("err>:\rstep 2[1,0]<stderr>:\n");
        Assert.Equal("\rstep 1\rstep 2\n", shown.ToString());
        stderr.Write("[1,0]<stderr>:\rstep 3");
        stderr.Write("[1");
        stderr.Write(",1]<stderr>:rank 1: late\n");
        stderr.Finish();
        // What the launcher says itself starts on a line of its own after rank 0's unfinished one.
        Assert.Equal("\rstep 1\rstep 2\n\rstep 3\nrank 1: slow\nrank 1: late\n", shown.ToString());

        // stdout: text that looks a little like a tag is text, and nothing is said for mpirun there.
        var printed = new StringWriter();
        using var stdout = new LaunchOutput(printed, mpirunSpeaks: false);
        stdout.Write("[1,0]<stdout>:partial[1,0]<stdout>: rest\n[1,0]<stdout>:[1,2] x%sy [CLS]\n[1,0]<stdout>:\n[1,0]<stdout>:no newline");
        stdout.Finish();
        Assert.Equal("partial rest\n[1,2] x%sy [CLS]\n\nno newline", printed.ToString());
    }

    [Fact]
    public void A_rank_killed_by_a_signal_is_one_line_naming_the_rank_and_the_signal()
    {
        var said = "bertsharp: rank 0 of 2 (mpi): stopped by the launcher (SIGTERM) while waiting in all-reduce of 4 Float32 values.";
        Assert.Equal(said + "\nbert launch: rank 1 was killed by signal 9 (SIGKILL)\n",
            Fold($"[1,0]<stderr>:{said}\n", PrimaryJob,
                 Rule + "mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).\n" + Rule));
        Assert.Equal("bert launch: rank 0 was killed by signal 11 (SIGSEGV)\nbert launch: rank 3 was killed by signal 64 (Unknown signal 64)\n",
            Fold(Rule + "mpirun noticed that process rank 0 with PID 812 on node vm exited on signal 11 (Segmentation fault).\n" + Rule,
                 Rule + "mpirun noticed that process rank 3 with PID 813 on node vm exited on signal 64 (Unknown signal 64).\n" + Rule));
    }

    [Fact]
    public void A_failure_no_rank_explains_and_mpiruns_own_failures_are_one_line_each()
    {
        Assert.Equal("bert launch: rank 0 exited with code 2 without a message\n", Fold(PrimaryJob, FirstFailed));
        Assert.Equal("bert launch: rank 1 aborted the job (MPI_Abort, error code 2) without a message\n", Fold(Abort));
        // An executable mpirun cannot start; a host it cannot reach (its ssh's line, then a block).
        Assert.Equal("bert launch: mpirun: 2 total processes failed to start\n" +
                     "bert launch: mpirun: mpirun was unable to launch the specified application as it could not access or execute an executable: Executable: ./nonexist Node: vm\n",
            Fold("2 total processes failed to start\n" + Rule + "mpirun was unable to launch the specified application as it could not access\n" +
                 "or execute an executable:\n\nExecutable: ./nonexist\nNode: vm\n\nwhile attempting to start process rank 0.\n" + Rule));
        Assert.Equal("bert launch: mpirun: ssh: Could not resolve hostname nosuchhost: Name or service not known\n",
            Fold("ssh: Could not resolve hostname nosuchhost: Name or service not known\r\n"));
    }

    [Fact]
    public void A_rank_that_fails_without_a_message_is_named_though_the_others_printed()
    {
        // Rank 0 printed its plan, then was stopped because rank 1 exited with code 1 without a word: rank 0's line points
        // to the launcher's message, which was dropped as soon as any rank had written anything.
        var stopped = "bertsharp: rank 0 of 2 (mpi): stopped by the launcher (SIGTERM) while computing, outside any collective: another rank exited or was killed (the launcher's message names it), or the job was stopped. Files already written are complete and intact.";
        var rank1Failed = Rule + "mpirun detected that one or more processes exited with non-zero status, thus causing\n" +
            "the job to be terminated. The first process to do so was:\n\n  Process name: [[18615,1],1]\n  Exit code:    1\n" + Rule;
        Assert.Equal($"plan: 2 epochs\n{stopped}\nbert launch: rank 1 exited with code 1 without a message\n",
            Fold("[1,0]<stderr>:plan: 2 epochs\n", $"[1,0]<stderr>:{stopped}\n", PrimaryJob, rank1Failed));
        Assert.Equal("plan\nbert launch: rank 1 aborted the job (MPI_Abort, error code 2) without a message\n", Fold("[1,0]<stderr>:plan\n", Abort));
        // mpirun may name the rank before passing on its last line: that line still explains the failure.
        Assert.Equal(TaskMissing + "\n", Fold(PrimaryJob, FirstFailed, $"[1,0]<stderr>:{TaskMissing}\n"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void A_data_error_every_rank_finds_after_joining_is_only_that_error(int capture)
    {
        // Every rank writes the error (rank 1 after its label) and one is stopped by the launcher meanwhile; mpirun adds its
        // abort block with its help-aggregation lines, or the ORTE_ERROR_LOG lines of its race between two aborting ranks.
        var raw = File.ReadAllText(Path.Combine(TestPaths.Fixtures, "launch", $"missing-column-{capture}.err"));
        var expected = "error: train.csv line 1: missing column 'nosuch' in the header (columns: review, sentiment); choose it with --label-column.\n";
        Assert.Equal(expected, Fold(raw));
        // Read by read as a pipe may cut it: tags and lines split anywhere.
        Assert.Equal(expected, Fold(raw.Chunk(7).Select(c => new string(c)).ToArray()));
    }

    [Fact]
    public void Another_ranks_error_alone_also_drops_the_stopped_lines_it_caused()
    {
        // Rank 1 failed on its own data (its line carries its label); rank 0, stopped while computing, adds nothing.
        var stopped = "bertsharp: rank 0 of 2 (mpi): stopped by the launcher (SIGTERM) while computing, outside any collective: another rank exited or was killed (the launcher's message names it), or the job was stopped. Files already written are complete and intact.";
        Assert.Equal("rank 1: error: shard-1.bin: truncated\n",
            Fold("[1,1]<stderr>:rank 1: error: shard-1.bin: truncated\n", Abort, $"[1,0]<stderr>:{stopped}\n"));
    }

    [Fact]
    public void Where_no_rank_wrote_an_error_the_stopped_ranks_say_where_they_were_under_their_own_names()
    {
        var rank0 = "bertsharp: rank 0 of 3 (mpi): stopped by the launcher (SIGTERM) while computing, outside any collective: another rank exited or was killed (the launcher's message names it), or the job was stopped. Files already written are complete and intact.";
        var rank1 = rank0.Replace("rank 0 of 3", "rank 1 of 3", StringComparison.Ordinal);
        // In the order they came: the stopped ranks' lines, then mpirun's.
        Assert.Equal($"{rank0}\n{rank1}\nbert launch: rank 2 was killed by signal 9 (SIGKILL)\n",
            Fold($"[1,0]<stderr>:{rank0}\n", $"[1,1]<stderr>:{rank1}\n",
                 Rule + "mpirun noticed that process rank 2 with PID 0 on node vm exited on signal 9 (Killed).\n" + Rule));
        // A line of rank 1 that names another rank keeps its label.
        Assert.Equal("rank 1: bertsharp: rank 0 of 2 (mpi): x\n", Fold("[1,1]<stderr>:bertsharp: rank 0 of 2 (mpi): x\n"));
    }

    [Fact]
    public void Only_rank_0s_recent_lines_drop_the_other_ranks_copies()
    {
        var n = LaunchOutput.Rank0LinesRemembered;
        var lines = Enumerable.Range(0, n + 1).Select(k => FormattableString.Invariant($"line {k}\n")).ToList();
        var rank0 = string.Concat(lines.Select(l => "[1,0]<stderr>:" + l));
        var rank1 = "[1,1]<stderr>:rank 1: line 1\n[1,1]<stderr>:rank 1: line 0\n";
        // Line 0 is one more than remembered ago, line 1 just as many.
        Assert.Equal(string.Concat(lines) + "rank 1: line 0\n", Fold(rank0, rank1));
        // A line rank 0 writes again is recent again: written before the last line, line 0 outlives line 1.
        var again = rank0.Replace("[1,0]<stderr>:" + lines[^1], "[1,0]<stderr>:line 0\n[1,0]<stderr>:" + lines[^1], StringComparison.Ordinal);
        Assert.Equal(string.Concat(lines[..^1]) + "line 0\n" + lines[^1] + "rank 1: line 1\n", Fold(again, rank1));
    }

    [Fact]
    public void Mpiruns_block_after_a_ranks_line_without_its_newline_is_mpiruns()
    {
        // Rank 0's progress bar is cut by rank 1's death; rank 1 dies half-way through a line of its own.
        var killed = Rule + "mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).\n" + Rule;
        var raw = "[1,0]<stderr>:\rstep 3" + killed;
        Assert.Equal("\rstep 3\nbert launch: rank 1 was killed by signal 9 (SIGKILL)\n", Fold(raw));
        Assert.Equal("\rstep 3\nbert launch: rank 1 was killed by signal 9 (SIGKILL)\n", Fold(raw.Chunk(7).Select(c => new string(c)).ToArray()));
        Assert.Equal("rank 1: half\nbert launch: rank 1 aborted the job (MPI_Abort, error code 2) without a message\n",
            Fold("[1,1]<stderr>:rank 1: half", Abort));
        // Rank 0's own rule line, from its line start, stays rank 0's.
        Assert.Equal("plan\n" + Rule + "bert launch: rank 1 was killed by signal 9 (SIGKILL)\n",
            Fold("[1,0]<stderr>:plan\n[1,0]<stderr>:" + Rule, killed));
    }

    [Fact]
    public void A_rank_that_printed_but_gave_no_reason_is_named()
    {
        // Rank 0 printed its plan, then exited with code 2 without an error line.
        Assert.Equal("plan: 2 epochs\nbert launch: rank 0 exited with code 2 without a message\n",
            Fold("[1,0]<stderr>:plan: 2 epochs\n", PrimaryJob, FirstFailed));
        Assert.Equal("rank 1: warning: slow disk\nbert launch: rank 1 aborted the job (MPI_Abort, error code 2) without a message\n",
            Fold("[1,1]<stderr>:rank 1: warning: slow disk\n", Abort));
        // A rank's own watchdog message says why it aborted.
        var watchdog = "bertsharp: rank 1 of 2 (mpi): all-reduce of 4 Float32 values did not complete within 2 s; another rank is stuck or gone. Aborting every rank; files already written (checkpoints, logs) are complete and intact.";
        Assert.Equal("plan\n" + watchdog + "\n", Fold("[1,0]<stderr>:plan\n", $"[1,1]<stderr>:rank 1: {watchdog}\n", Abort));
    }

    [Fact]
    public void Another_ranks_own_line_is_shown_once_rank_0_has_ended_enough_lines_since()
    {
        var shown = new StringWriter();
        using var output = new LaunchOutput(shown, mpirunSpeaks: true);
        output.Write("[1,1]<stderr>:rank 1: warning: slow disk\n[1,1]<stderr>:rank 1: a copy\n");
        var rank0 = new StringBuilder();
        for (var k = 0; k < LaunchOutput.HeldLinesLimit - 1; k++)
        {
            var line = FormattableString.Invariant($"step {k}\n");
            rank0.Append(line);
            output.Write("[1,0]<stderr>:" + line);
        }
        Assert.Equal(rank0.ToString(), shown.ToString());
        // Rank 0's copy, as late as it may come, still drops rank 1's; one line more and rank 1's own line is shown.
        output.Write("[1,0]<stderr>:a copy\n");
        Assert.Equal(rank0 + "a copy\nrank 1: warning: slow disk\n", shown.ToString());
        output.Write("[1,0]<stderr>:done\n");
        output.Finish();
        Assert.Equal(rank0 + "a copy\nrank 1: warning: slow disk\ndone\n", shown.ToString());
    }

    [Fact]
    public void Another_ranks_lines_wait_no_more_than_the_limit_oldest_first()
    {
        // Rank 1 writes a line of its own at every step while rank 0 redraws its progress bar, which ends no line.
        var shown = new StringWriter();
        using var output = new LaunchOutput(shown, mpirunSpeaks: true);
        var limit = LaunchOutput.HeldLinesLimit;
        var expected = new StringBuilder("\rstep 0");
        output.Write("[1,0]<stderr>:\rstep 0");
        for (var k = 0; k < limit + 3; k++)
        {
            output.Write(FormattableString.Invariant($"[1,1]<stderr>:rank 1: loss {k}\n"));
            if (k >= limit)
            {
                // The launcher's line starts a line of its own after rank 0's unfinished one.
                expected.Append(k == limit ? "\n" : "").Append(FormattableString.Invariant($"rank 1: loss {k - limit}\n"));
            }
            Assert.Equal(expected.ToString(), shown.ToString());
        }
        output.Finish();
        for (var k = 3; k < limit + 3; k++)
        {
            expected.Append(FormattableString.Invariant($"rank 1: loss {k}\n"));
        }
        Assert.Equal(expected.ToString(), shown.ToString());
    }

    [Fact]
    public void A_line_redrawn_with_carriage_returns_keeps_only_its_last_redraw()
    {
        var shown = new StringWriter();
        using var output = new LaunchOutput(shown, mpirunSpeaks: true);
        var rank0 = new StringBuilder();
        for (var k = 0; k < 100_000; k++)
        {
            var redraw = FormattableString.Invariant($"\rstep {k}");
            rank0.Append(redraw);
            output.Write("[1,0]<stderr>:" + redraw + FormattableString.Invariant($"[1,1]<stderr>:\rrank 1: {k}"));
        }
        // What a terminal shows of each line, and rank 0's bytes all passed through.
        Assert.Equal("step 99999".Length, output.UnfinishedLength(0));
        Assert.Equal("rank 1: 99999".Length, output.UnfinishedLength(1));
        Assert.Equal(rank0.ToString(), shown.ToString());
        // Only the last redraw is rank 1's line; a carriage return before the newline stays the line's own.
        output.Write("[1,1]<stderr>:\n[1,1]<stderr>:rank 1: crlf\r\r\n");
        output.Finish();
        Assert.Equal(rank0 + "\nrank 1: 99999\nrank 1: crlf\r\n", shown.ToString());
        // A redrawn line of rank 0 that starts like one of its own messages passes through whole too.
        var redrawn = "bertsharp: 50%\rbertsharp: 100%\n";
        Assert.Equal(redrawn, Fold("[1,0]<stderr>:" + redrawn));
    }

    [Fact]
    public void Rank_0s_stop_line_is_dropped_when_the_error_that_stopped_it_comes_after_it()
    {
        var stopped = "bertsharp: rank 0 of 2 (mpi): stopped by the launcher (SIGTERM) while computing, outside any collective: another rank exited or was killed (the launcher's message names it), or the job was stopped. Files already written are complete and intact.";
        Assert.Equal("plan\nrank 1: error: shard-1.bin: truncated\n",
            Fold("[1,0]<stderr>:plan\n", $"[1,0]<stderr>:{stopped}\n", "[1,1]<stderr>:rank 1: error: shard-1.bin: truncated\n", Abort));
        // Rank 1's stop line waits for the end of the job too, however many lines rank 0 ends meanwhile.
        var rank1 = stopped.Replace("rank 0 of 2", "rank 1 of 3", StringComparison.Ordinal);
        var rank0Lines = string.Concat(Enumerable.Range(0, LaunchOutput.HeldLinesLimit + 1).Select(k => FormattableString.Invariant($"[1,0]<stderr>:{k}\n")));
        var shownLines = string.Concat(Enumerable.Range(0, LaunchOutput.HeldLinesLimit + 1).Select(k => FormattableString.Invariant($"{k}\n")));
        Assert.Equal(shownLines + "rank 2: error: shard-2.bin: truncated\n",
            Fold($"[1,1]<stderr>:{rank1}\n", rank0Lines, "[1,2]<stderr>:rank 2: error: shard-2.bin: truncated\n"));
    }

    [Fact]
    public void Stop_lines_while_waiting_in_a_collective_are_dropped_after_an_error_in_either_order()
    {
        var waiting = "bertsharp: rank 0 of 3 (mpi): stopped by the launcher (SIGTERM) while waiting in all-reduce of 4 Float32 values: another rank exited or was killed (the launcher's message names it), or the job was stopped. Files already written are complete and intact.";
        var rank2 = waiting.Replace("rank 0 of 3", "rank 2 of 3", StringComparison.Ordinal);
        var error = "[1,1]<stderr>:rank 1: error: shard-1.bin: truncated\n";
        Assert.Equal("rank 1: error: shard-1.bin: truncated\n", Fold(error, $"[1,0]<stderr>:{waiting}\n", $"[1,2]<stderr>:{rank2}\n", Abort));
        Assert.Equal("rank 1: error: shard-1.bin: truncated\n", Fold($"[1,0]<stderr>:{waiting}\n", $"[1,2]<stderr>:{rank2}\n", error, Abort));
        // Without an error they stay, rank 0's in its place before mpirun's line; the watchdog's warning is shown when it comes.
        var watchdog = "bertsharp: rank 0 of 3 (mpi): all-reduce of 4 Float32 values did not complete within 2 s; another rank is stuck or gone. Aborting every rank; files already written (checkpoints, logs) are complete and intact.";
        var shown = new StringWriter();
        using var output = new LaunchOutput(shown, mpirunSpeaks: true);
        output.Write($"[1,0]<stderr>:{watchdog}\n");
        Assert.Equal(watchdog + "\n", shown.ToString());
        output.Write($"[1,0]<stderr>:{waiting}\n");
        output.Write(Rule + "mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).\n" + Rule);
        output.Write($"[1,2]<stderr>:{rank2}\n");
        output.Finish();
        Assert.Equal($"{watchdog}\n{waiting}\nbert launch: rank 1 was killed by signal 9 (SIGKILL)\n{rank2}\n", shown.ToString());
    }

    [Fact]
    public void Rank_0s_stop_line_after_a_redraw_that_ends_in_a_carriage_return_is_its_stop_line()
    {
        // A finished download ends its line with "\r" (DownloadProgress): the stop line that follows starts that line anew.
        var stopped = "bertsharp: rank 0 of 2 (mpi): stopped by the launcher (SIGTERM) while computing, outside any collective: another rank exited or was killed (the launcher's message names it), or the job was stopped. Files already written are complete and intact.";
        var killed = Rule + "mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).\n" + Rule;
        Assert.Equal($"\rmodel 100%\r\n{stopped}\nbert launch: rank 1 was killed by signal 9 (SIGKILL)\n",
            Fold("[1,0]<stderr>:\rmodel 100%\r", $"[1,0]<stderr>:{stopped}\n", killed));
        Assert.Equal("\rmodel 100%\r\nrank 1: error: shard-1.bin: truncated\n",
            Fold("[1,0]<stderr>:\rmodel 100%\r", $"[1,0]<stderr>:{stopped}\n", "[1,1]<stderr>:rank 1: error: shard-1.bin: truncated\n", Abort));
        // What the launcher says itself starts a line of its own too.
        Assert.Equal("\rmodel 100%\r\nbert launch: rank 1 was killed by signal 9 (SIGKILL)\n", Fold("[1,0]<stderr>:\rmodel 100%\r", killed));
    }

    [Fact]
    public void Another_ranks_stop_line_keeps_its_place_before_mpiruns_line_that_came_after_it()
    {
        // Open MPI 4.1.4 with rank 0 killed: the others' stop lines, then, once every rank has ended, mpirun's block.
        var rank1 = "bertsharp: rank 1 of 2 (mpi): stopped by the launcher (SIGTERM) while waiting in all-reduce of 4 Float32 values: another rank exited or was killed (the launcher's message names it), or the job was stopped. Files already written are complete and intact.";
        Assert.Equal($"\rstep 3\n{rank1}\nbert launch: rank 0 was killed by signal 9 (SIGKILL)\n",
            Fold("[1,0]<stderr>:\rstep 3", $"[1,1]<stderr>:rank 1: {rank1}\n",
                 Rule + "mpirun noticed that process rank 0 with PID 0 on node vm exited on signal 9 (Killed).\n" + Rule));
    }

    [Fact]
    public void A_ranks_own_line_of_dashes_after_text_is_the_ranks()
    {
        // mpirun writes a block whole (one write: its rule, then its message), so its rule is never followed by a tag, by a
        // second rule or by nothing; a rank's line that ends in as many dashes is.
        var dashes = Rule.TrimEnd('\n');
        var killed = Rule + "mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).\n" + Rule;
        foreach (var (raw, expected) in new[]
        {
            ($"[1,0]<stderr>:total{dashes}\n[1,0]<stderr>:next\n", $"total{dashes}\nnext\n"),
            ($"[1,0]<stderr>:total[1,0]<stderr>:{dashes}\n[1,1]<stderr>:rank 1: own\n", $"total{dashes}\nrank 1: own\n"),
            ($"[1,0]<stderr>:total{dashes}\n" + killed, $"total{dashes}\nbert launch: rank 1 was killed by signal 9 (SIGKILL)\n"),
            ($"[1,0]<stderr>:total{dashes}\n", $"total{dashes}\n"),
        })
        {
            Assert.Equal(expected, Fold(raw));
            Assert.Equal(expected, Fold(raw.Chunk(7).Select(c => new string(c)).ToArray()));
        }
    }

    private const string Stopped = "bertsharp: rank 0 of 2 (mpi): stopped by the launcher (SIGTERM) while computing, outside any collective: another rank exited or was killed (the launcher's message names it), or the job was stopped. Files already written are complete and intact.";

    [Fact]
    public void Every_ranks_last_line_without_its_newline_is_shown_when_the_stream_ends()
    {
        var dashes = Rule.TrimEnd('\n');
        foreach (var (raw, expected) in new[]
        {
            ("[1,0]<stderr>:last", "last"),
            // Dashes after text wait for what follows (mpirun's rule may start there); nothing follows.
            ("[1,0]<stderr>:total ---", "total ---"),
            ($"[1,0]<stderr>:total {dashes}", $"total {dashes}"),
            // What may still become one of rank 0's own messages.
            ("[1,0]<stderr>:bertsh", "bertsh"),
            ("[1,1]<stderr>:rank 1: last", "rank 1: last\n"),
            ("[1,0]<stderr>:a\n[1,1]<stderr>:rank 1: b", "a\nrank 1: b\n"),
            ("[1,0]<stderr>:a\n[1,0]<stderr>:b[1,1]<stderr>:rank 1: c", "a\nb\nrank 1: c\n"),
            // A line every rank ends the job with is shown once, as with its newline.
            ("[1,0]<stderr>:done[1,1]<stderr>:done", "done"),
            ("[1,1]<stderr>:done[1,0]<stderr>:done", "done"),
            // Cut where the stream ends inside what looked like a tag: the rank's text.
            ("[1,0]<stderr>:x [1,0]<std", "x [1,0]<std"),
            // Rank 0's stop line cut by its end is still its stop line: another rank's error drops it, and without one it
            // is shown on a line of its own.
            ($"[1,0]<stderr>:{Stopped}[1,1]<stderr>:rank 1: error: bad\n", "rank 1: error: bad\n"),
            ($"[1,0]<stderr>:{Stopped}", Stopped + "\n"),
        })
        {
            Assert.Equal(expected, Fold(raw));
            Assert.Equal(expected, Fold(raw.Chunk(3).Select(c => new string(c)).ToArray()));
        }
        // stdout too (no rule lines there).
        var printed = new StringWriter();
        using (var stdout = new LaunchOutput(printed, mpirunSpeaks: false))
        {
            stdout.Write("[1,0]<stdout>:saved run ---");
            stdout.Finish();
        }
        Assert.Equal("saved run ---", printed.ToString());
    }

    /// <summary>mpirun's stderr, fed in the given reads, as <c>bert launch</c> shows it once the job ended.</summary>
    private static string Fold(params string[] reads)
    {
        var shown = new StringWriter();
        using var output = new LaunchOutput(shown, mpirunSpeaks: true);
        foreach (var read in reads)
        {
            output.Write(read);
        }
        output.Finish();
        return shown.ToString();
    }
}
