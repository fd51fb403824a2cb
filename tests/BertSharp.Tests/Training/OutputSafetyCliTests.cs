using BertSharp.IO;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// The CLI never deletes what it did not write and says how to resume after Ctrl-C (in-process, seeded: serial); surviving
/// SIGKILL is <see cref="SigkillResumeTests"/>.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class OutputSafetyCliTests
{
    private static string Data => Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");

    private static string Vocab => Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt");

    private static string Fixture => Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification");

    internal static string[] Finetune(string output, params string[] extra) =>
    [
        "finetune", "--task", "sst2", "--data", Data, "--val-size", "2", "--shuffle", "--output", output, "--config", "tiny", "--vocab", Vocab,
        "--batch-size", "1", "--lr", "1e-3", "--max-length", "16", "--device", "cpu",
        .. extra.Contains("--epochs") ? extra : ["--epochs", "3", .. extra],
    ];

    internal static string[] Leftovers(string dir) =>
        [.. Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories).Select(Path.GetFileName).OfType<string>()
            .Where(n => n.EndsWith(".tmp", StringComparison.Ordinal) || n.EndsWith(".old", StringComparison.Ordinal))];

    [Fact]
    public void Convert_refuses_a_directory_it_did_not_write_and_overwrite_keeps_the_other_files()
    {
        using var tmp = TestPaths.TempDir();
        var target = tmp.File("p");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "notes.txt"), "keep");

        var refused = CliRunner.Run("convert", Fixture, target);
        Assert.Equal(2, refused.ExitCode);
        var line = Assert.Single(refused.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("not empty and not written by bert (it holds notes.txt)", line, StringComparison.Ordinal);
        Assert.Contains("--overwrite", line, StringComparison.Ordinal);
        Assert.Equal(["notes.txt"], Directory.GetFileSystemEntries(target).Select(Path.GetFileName));

        var written = CliRunner.Run("convert", Fixture, target, "--overwrite");
        Assert.True(written.ExitCode == 0, written.StdErr);
        Assert.Equal("keep", File.ReadAllText(Path.Combine(target, "notes.txt")));
        Assert.True(File.Exists(Path.Combine(target, "model.safetensors")));
        // Converting again into what is now partly bert's directory replaces bert's files and still keeps notes.txt.
        var again = CliRunner.Run("convert", Fixture, target, "--dtype", "float16");
        Assert.True(again.ExitCode == 0, again.StdErr);
        Assert.Equal("keep", File.ReadAllText(Path.Combine(target, "notes.txt")));
        Assert.Empty(Leftovers(tmp.Path));
    }

    [SkippableFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Convert_gives_the_tokenizer_files_it_copies_the_mode_of_a_new_file_not_the_sources_read_only_one()
    {
        Skip.If(OperatingSystem.IsWindows(), "Unix file modes");
        using var tmp = TestPaths.TempDir();
        var source = tmp.File("src");
        Directory.CreateDirectory(source);
        foreach (var f in new[] { "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json" })
        {
            File.Copy(Path.Combine(Fixture, f), Path.Combine(source, f));
            File.SetUnixFileMode(Path.Combine(source, f), UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        var target = tmp.File("out");
        var written = CliRunner.Run("convert", source, target);
        Assert.True(written.ExitCode == 0, written.StdErr);
        var fresh = File.GetUnixFileMode(Path.Combine(target, "model.safetensors"));
        Assert.True(fresh.HasFlag(UnixFileMode.UserWrite), $"model.safetensors: {fresh}");
        foreach (var f in new[] { "vocab.txt", "tokenizer_config.json", "special_tokens_map.json" })
        {
            Assert.Equal((f, fresh), (f, File.GetUnixFileMode(Path.Combine(target, f))));
        }
    }

    [Fact]
    public void Finetune_and_pretrain_refuse_a_project_directory_as_output_and_touch_nothing()
    {
        using var tmp = TestPaths.TempDir();
        var project = tmp.File("project");
        Directory.CreateDirectory(project);
        File.Copy(Data, Path.Combine(project, "train.tsv"));
        File.WriteAllText(Path.Combine(project, "Program.cs"), "class P {}");
        File.WriteAllText(Path.Combine(project, "README.md"), "# my project\n");
        var before = Directory.GetFileSystemEntries(project).Order().ToArray();

        var ft = CliRunner.Run(Finetune(project));
        Assert.Equal(2, ft.ExitCode);
        Assert.StartsWith($"error: --output {project}: not empty and not written by bert (it holds Program.cs, README.md, train.tsv);", ft.StdErr, StringComparison.Ordinal);
        var pt = CliRunner.Run("pretrain", "--data", tmp.File("nodata"), "--output", project, "--config", "tiny", "--vocab", Vocab);
        Assert.Equal(2, pt.ExitCode);
        Assert.Contains("not empty and not written by bert", pt.StdErr, StringComparison.Ordinal);
        Assert.Equal(before, Directory.GetFileSystemEntries(project).Order().ToArray());

        // With --overwrite the model lands beside the user's files, which stay as they were; no checkpoint is left behind.
        var ok = CliRunner.Run(Finetune(project, "--epochs", "1", "--overwrite"));
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        Assert.Equal(File.ReadAllBytes(Data), File.ReadAllBytes(Path.Combine(project, "train.tsv")));
        Assert.Equal("class P {}", File.ReadAllText(Path.Combine(project, "Program.cs")));
        // The user's README.md is theirs: no model card replaces it, and bert's marker does not claim it.
        Assert.Equal("# my project\n", File.ReadAllText(Path.Combine(project, "README.md")));
        Assert.DoesNotContain("README.md", File.ReadAllText(Path.Combine(project, OutputDirectory.MarkerName)), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(project, "model.safetensors")));
        Assert.Empty(Directory.GetDirectories(project));
        Assert.Empty(Leftovers(tmp.Path));
    }

    [SkippableFact]
    public void Finetune_into_a_mount_point_publishes_the_model_in_it()
    {
        // docker run -v $PWD/out:/out ... --output /out: the run's end replaced the directory whole, renaming the mount point
        // away, and failed (Device or resource busy) after all its training.
        // A freshly formatted ext4 volume holds mkfs's lost+found, which was refused as the user's ("not empty and not written
        // by bert"); it is the filesystem's, and stays as it is through a run undone before its first checkpoint and a whole run.
        using var tmp = TestPaths.TempDir();
        using var mount = TmpfsMount.At(tmp.File("out"));
        var found = Directory.CreateDirectory(Path.Combine(mount.Path, "lost+found")).FullName;
        File.WriteAllText(Path.Combine(found, "#131073"), "recovered");
        string[] Entries() => [.. Directory.GetFileSystemEntries(mount.Path).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];
        RunDirectory.Open(mount.Path, overwrite: false, FineTuner.Kind).RemoveUnfinished();
        Assert.Equal(["lost+found"], Entries());

        var r = CliRunner.Run(Finetune(mount.Path, "--epochs", "1", "--save-steps", "2"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal([OutputDirectory.MarkerName, "README.md", "config.json", "loss.png", "lost+found", "metrics.json", "model.safetensors", "special_tokens_map.json",
            "tokenizer.json", "tokenizer_config.json", "train_log.jsonl", "training_args.json", "vocab.txt"], Entries());
        Assert.Equal("recovered", File.ReadAllText(Path.Combine(found, "#131073")));
        Assert.Equal(["out"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName));
    }

    // A run directory the system will not create was "error: /proc/run: not found." (as if an input were missing).
    [Fact]
    public void A_run_directory_that_cannot_be_made_is_named_by_its_flag()
    {
        var r = CliRunner.Run(Finetune("/proc/run", "--epochs", "1"));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("error: --output /proc/run: cannot be written (no such file or directory).", r.StdErr.TrimEnd().Split('\n')[^1]);
    }

    [Fact]
    public void Convert_finetune_and_pretrain_refuse_another_kind_of_bert_output_and_keep_it()
    {
        using var tmp = TestPaths.TempDir();
        // Directories as bert leaves them: every entry bert's, named in its marker.
        static string Bert(string dir, string[] patterns, params string[] files)
        {
            OutputDirectory.Claim(dir, patterns, overwrite: false);
            foreach (var f in files)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, f))!);
                File.WriteAllText(Path.Combine(dir, f), "kept");
            }
            return dir;
        }
        static string[] Entries(string dir) => [.. Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];
        var run = Bert(tmp.File("run"), ["checkpoint-*", "final", "train_log.jsonl", "loss.png"], "checkpoint-8/trainer_state.json", "final/config.json", "train_log.jsonl");
        var data = Bert(tmp.File("data"), ["manifest.json", "shard-*.bin"], "manifest.json", "shard-00000.bin");
        var tuned = Bert(tmp.File("tuned"), ["config.json", "model.safetensors", "training_args.json", "train_log.jsonl"],
            "config.json", "model.safetensors", "training_args.json", "train_log.jsonl");
        var before = new[] { run, data, tuned }.Select(Entries).ToList();

        // Said as the CLI's other messages about its output folders say it ("written by bert"), with its flags.
        CliRunner.Run("convert", Fixture, run, "--overwrite").AssertOneLineError(
            $"error: output {run}: holds output written by bert that is not a model (checkpoint-8, final, train_log.jsonl), which writing a model " +
            "there would delete, with or without --overwrite; choose another --output.");
        CliRunner.Run("convert", "--model", Fixture, "--output", tuned).AssertOneLineError("not a model (train_log.jsonl, training_args.json)");
        CliRunner.Run(Finetune(tmp.Path + "/./data")).AssertOneLineError($"--output {tmp.Path}/./data: holds output written by bert that is not a fine-tuned model (manifest.json, shard-00000.bin)");
        CliRunner.Run(Finetune(run, "--resume")).AssertOneLineError("not a fine-tuned model (final)");
        CliRunner.Run("pretrain", "--data", data, "--output", tuned, "--config", "tiny", "--vocab", Vocab)
            .AssertOneLineError("not a pre-training run (config.json, model.safetensors, training_args.json)");
        Assert.Equal(before, new[] { run, data, tuned }.Select(Entries).ToList());

        // Output of the command's own kind is still replaced.
        var model = tmp.File("model");
        Assert.Equal(0, CliRunner.Run("convert", Fixture, model).ExitCode);
        var again = CliRunner.Run("convert", Fixture, model, "--dtype", "float16");
        Assert.True(again.ExitCode == 0, again.StdErr);
    }

    [Fact]
    public void An_unfinished_run_needs_resume_and_an_interrupted_one_says_how_to_resume()
    {
        using var tmp = TestPaths.TempDir();
        // The run's folder is shown as data in every line naming it: its escape drove the terminal, U+202E reversed the line.
        var run = tmp.File("run\u001b[31m\u202e");
        var shown = tmp.File("run\\x1b[31m\\u202e");
        var first = CliRunner.Run(Finetune(run, "--stop-after", "2"));
        Assert.True(first.ExitCode == 0, first.StdErr);
        Assert.Contains($"checkpoint {shown}/checkpoint-2\n", first.StdOut, StringComparison.Ordinal);
        Assert.Contains("--resume", first.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(first.StdOut, c => c is '\u001b' or '\u202e');

        var again = CliRunner.Run(Finetune(run + "/"));
        Assert.Equal(2, again.ExitCode);
        Assert.Equal($"error: --output {shown}/: holds checkpoint-2 of an earlier run; add --resume to continue it (same settings), or choose another --output.", again.StdErr.TrimEnd());
        var rest = CliRunner.Run(Finetune(run, "--resume"));
        Assert.True(rest.ExitCode == 0, rest.StdErr);
        Assert.Contains($"\nsaved {shown} (validation: ", rest.StdOut, StringComparison.Ordinal);
        Assert.Contains($"\nnext: bert evaluate --model $'{shown}' --task sst2 --data FILE  |  bert predict --model $'{shown}' --text", rest.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(rest.StdOut, c => c is '\u001b' or '\u202e');

        (int, string) Reported(Exception e)
        {
            var err = new StringWriter();
            var oldErr = Console.Error;
            Console.SetError(err);
            try
            {
                return (Cli.CliErrors.Report(e), err.ToString().TrimEnd());
            }
            finally
            {
                Console.SetError(oldErr);
            }
        }
        Assert.Equal((130, $"error: interrupted at step 3 of 18; the last complete checkpoint is {shown}/checkpoint-2. Run the same command with --resume to continue from it."),
            Reported(new TrainingCancelledException(run, Path.Combine(run, "checkpoint-2"), 3, 18)));
        Assert.Equal((2, $"error: {shown}: not empty and not written by bert (it holds a\\x1b[2Jb); choose a new or empty directory, or add --overwrite " +
            "(bert then replaces only its own files and removes nothing else)."), Reported(new ForeignOutputException(run, ["a\u001b[2Jb"])));
        // A path's problem that names a field, where no flag holds the path, says the field as its flag (its control characters were printed, escaped).
        Assert.Equal((2, $"error: {shown}: nothing to --resume: the run there has finished (training_args.json is written at its end); run without --resume to train it again."),
            Reported(Assert.Throws<PathException>(() => RunDirectory.Check(run, resume: true, overwrite: false, FineTuner.Kind))));
        // Mapped to the flag as typed; the library's path follows it only where it is another one, by its path inside the typed directory.
        var parse = Cli.Program.BuildRoot().Parse(Finetune(tmp.Path + "/./runs"));
        Assert.Equal($"--output {tmp.Path}/./runs: inner: not empty and not written by bert (it holds x); choose a new or empty directory, " +
            "or add --overwrite (bert then replaces only its own files and removes nothing else).",
            Cli.CliInput.NamePath(parse, new ForeignOutputException(tmp.File("runs/inner"), ["x"]))?.Message);
        Assert.Null(Cli.CliInput.NamePath(parse, new ForeignOutputException(tmp.File("elsewhere"), ["x"])));
        // So is any path the library refuses with its problem apart: a file in a checkpoint's place, found during the run; a
        // marker bert did not write.
        Directory.CreateDirectory(tmp.File("runs"));
        File.WriteAllText(tmp.File("runs/checkpoint-1"), "x");
        Assert.Equal($"--output {tmp.Path}/./runs: checkpoint-1: is a file; expected a directory.",
            Cli.CliInput.NamePath(parse, Assert.ThrowsAny<BertSharpException>(() => OutputDirectory.Inspect(tmp.File("runs/checkpoint-1"))))?.Message);
        File.WriteAllText(tmp.File("runs/.bertsharp"), "{}");
        Assert.Equal($"--output {tmp.Path}/./runs: .bertsharp: no \"entries\" list; expected the marker BertSharp writes.",
            Cli.CliInput.NamePath(parse, Assert.ThrowsAny<BertSharpException>(() => OutputDirectory.Inspect(tmp.File("runs"))))?.Message);
        Assert.Equal((2, $"error: {shown}/vocab.txt: not found."), Reported(new FileNotFoundException("gone", Path.Combine(run, "vocab.txt"))));
        // A command that caught its stop (pretrain-data) says what it kept in its own words, not the bare "cancelled.".
        Assert.Equal((130, "error: cancelled; nothing was written to --output data and the partly built data was removed."),
            Reported(new OperationCanceledException("cancelled; nothing was written to --output data and the partly built data was removed.", new OperationCanceledException())));
    }

    // The first Ctrl-C asks the run to stop at its next safe point and says so; a second one ends the process at once (the
    // signal's default): every Ctrl-C was swallowed, so a run in a long final step could not be stopped at all. SIGTERM stops
    // alike but prints nothing (its logs keep the one-line error).
    [Fact]
    public void A_second_ctrl_c_quits_at_once_and_the_first_says_so()
    {
        using var cancel = new CancellationTokenSource();
        var error = new StringWriter();
        var first = new System.Runtime.InteropServices.PosixSignalContext(System.Runtime.InteropServices.PosixSignal.SIGINT);
        Cli.Commands.StopSignals.Handle(first, cancel, error);
        Assert.True(first.Cancel);
        Assert.True(cancel.IsCancellationRequested);
        Assert.Equal(Cli.Commands.StopSignals.FirstInterrupt + Environment.NewLine, error.ToString());
        var second = new System.Runtime.InteropServices.PosixSignalContext(System.Runtime.InteropServices.PosixSignal.SIGINT) { Cancel = true };
        Cli.Commands.StopSignals.Handle(second, cancel, error);
        Assert.False(second.Cancel);
        Assert.Equal(Cli.Commands.StopSignals.FirstInterrupt + Environment.NewLine, error.ToString());

        using var terminated = new CancellationTokenSource();
        var sigterm = new System.Runtime.InteropServices.PosixSignalContext(System.Runtime.InteropServices.PosixSignal.SIGTERM);
        Cli.Commands.StopSignals.Handle(sigterm, terminated, error);
        Assert.True(sigterm.Cancel);
        Assert.True(terminated.IsCancellationRequested);
        Assert.Equal(Cli.Commands.StopSignals.FirstInterrupt + Environment.NewLine, error.ToString());
    }
}
