using System.CommandLine;

namespace BertSharp.Tests.Infrastructure;

/// <summary>Runs the <c>bert</c> command tree in-process and captures stdout, stderr and the exit code.</summary>
public static class CliRunner
{
    private static readonly object ConsoleLock = new();

    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        /// <summary>
        /// Asserts the bad-input contract: exit code 2, nothing on stdout, and one line on stderr that starts with
        /// <c>error: </c>, names each path once (<see cref="ErrorLines"/>) and holds each of <paramref name="fragments"/>.
        /// Returns that line.
        /// </summary>
        public string AssertOneLineError(params string[] fragments)
        {
            Assert.True(ExitCode == 2, $"exit {ExitCode}: {StdErr}");
            var line = Assert.Single(StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: ", line, StringComparison.Ordinal);
            ErrorLines.AssertNamesEachPathOnce(line);
            foreach (var f in fragments)
            {
                Assert.Contains(f, line, StringComparison.Ordinal);
            }
            Assert.Equal("", StdOut);
            return line;
        }
    }

    public static Result Run(params string[] args)
    {
        lock (ConsoleLock)
        {
            var oldOut = Console.Out;
            var oldErr = Console.Error;
            using var outW = new StringWriter();
            using var errW = new StringWriter();
            Console.SetOut(outW);
            Console.SetError(errW);
            try
            {
                int code;
                try
                {
                    code = Cli.Program.Run(args, new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = outW, Error = errW });
                }
                catch (Exception e)
                {
                    code = Cli.CliErrors.Report(e);
                }
                return new Result(code, outW.ToString(), errW.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
            }
        }
    }
}
