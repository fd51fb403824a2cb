using System.CommandLine;
using BertSharp;
using BertSharp.Checkpoints;
using BertSharp.Distributed;
using BertSharp.Cli.Commands;
using BertSharp.Training;

namespace BertSharp.Cli;

/// <summary>Entry point of the <c>bert</c> command.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // Before anything can load libtorch: its OpenMP reads the thread policy once, at load.
        Runtime.NativeEnvironment.Apply();
        FileSizeSignal.Ignore();
        try
        {
            return Run(args, new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            var code = CliErrors.Report(e);
            // As one rank of a data-parallel job the others may be waiting for this one: stop them all now. Unless another
            // rank failed first: that rank stops the job once it has reported why, and an abort from here could kill it
            // before its error is written (this rank waits for it in MPI's finalize at exit, under the collective timeout).
            if (CliErrors.Root(e) is not RankFailedException)
            {
                MpiCommunicator.AbortIfRunning(code);
            }
            return code;
        }
    }

    /// <summary>
    /// Parses <paramref name="args"/>, makes the checks that hold for every command, and invokes the command; a failure
    /// throws (<see cref="CliErrors.Report"/> turns it into the one-line error). Tests run the CLI in-process through it.
    /// </summary>
    public static int Run(string[] args, InvocationConfiguration configuration)
    {
        var parse = ParseChecked(args);
        if (RunsOwnAction(parse))
        {
            DataParallelRank.RefuseUnlessDataParallel(parse, DistributedEnvironment.Launcher()?.Size ?? 1);
        }
        try
        {
            return parse.Invoke(configuration);
        }
        catch (Exception e) when (CliInput.NamePath(parse, CliErrors.Root(e)) is { } named)
        {
            // The library names the path in full or as given; the user typed it after a flag, and the flag says which path it was.
            throw named;
        }
        catch (Exception e) when (HubModelNames.Name(parse, CliErrors.Root(e)) is { } named)
        {
            // A Hub id resolved to its snapshot in the cache: the user typed the id.
            throw named;
        }
        catch (Exception e) when (TypedModelNames.Rename(CliErrors.Root(e), text => CliInput.SaidAsTyped(parse, text)) is { } named)
        {
            // Any other failure of the library's naming a path the user typed relative (a model directory's missing
            // config.json, the cache of --cache-dir): the library resolved it to its full path, which the user never typed.
            throw named;
        }
        catch (Exception e) when (CliErrors.Root(e) is TrainingCancelledException { Checkpoint: { } checkpoint } c
                                  && CliInput.SaidAsTyped(parse, checkpoint) is var typed && typed != checkpoint)
        {
            // The checkpoint kept, inside --output as typed (runs/x/checkpoint-2): the run names the full path it resolved.
            throw new TrainingCancelledException(CliInput.SaidAsTyped(parse, c.Directory), typed, c.Step, c.TotalSteps);
        }
    }

    /// <summary>
    /// Parses <paramref name="args"/> and makes the checks that hold for every command (also for the command that
    /// <c>bert launch</c> is to start, before any rank exists); bad input throws with its one-line message.
    /// </summary>
    internal static ParseResult ParseChecked(string[] args)
    {
        var parse = BuildRoot().Parse(args);
        // System.CommandLine's own report of a parse error names .NET types, spans lines and prints the help to stdout with
        // exit 1; bad input is one line and exit 2 here as everywhere else.
        if (parse.Action is System.CommandLine.Invocation.ParseErrorAction)
        {
            throw new BertSharpException(CliInput.DescribeParseError(parse));
        }
        // Only before the command's own action: --help and the like show what they show whatever the values.
        if (RunsOwnAction(parse))
        {
            CliInput.RefuseEmptyValues(parse);
            CliInput.RefuseUnwritableOutputs(parse);
        }
        return parse;
    }

    /// <summary>False for --help and the like, which show what they show whatever the values.</summary>
    internal static bool RunsOwnAction(ParseResult parse) => parse.Errors.Count == 0 && parse.Action == parse.CommandResult.Command.Action;

    /// <summary>The command tree; tests parse and invoke it in-process.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("BertSharp: BERT tokenization, training, evaluation and inference for .NET.");
        root.Subcommands.Add(DoctorCommand.Create());
        root.Subcommands.Add(DownloadCommand.Create());
        root.Subcommands.Add(UploadCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(DataCommand.Create());
        root.Subcommands.Add(VocabCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(ExportOnnxCommand.Create());
        root.Subcommands.Add(FinetuneCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(PredictCommand.Create());
        root.Subcommands.Add(PretrainDataCommand.Create());
        root.Subcommands.Add(PretrainCommand.Create());
        root.Subcommands.Add(FillMaskCommand.Create());
        root.Subcommands.Add(NspCommand.Create());
        root.Subcommands.Add(NerCommand.Create());
        root.Subcommands.Add(QaCommand.Create());
        root.Subcommands.Add(EmbedCommand.Create());
        root.Subcommands.Add(SearchCommand.Create());
        root.Subcommands.Add(RerankCommand.Create());
        root.Subcommands.Add(ZeroShotCommand.Create());
        PretrainMemoryBenchCommand.AddTo(root); // after BenchCommand: joins the existing "bench" command
        AllReduceBenchCommand.AddTo(root);
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(LaunchCommand.Create());
        return root;
    }
}
