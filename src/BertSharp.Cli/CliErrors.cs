namespace BertSharp.Cli;

/// <summary>Maps failures to the CLI contract: one line on stderr, non-zero exit code.</summary>
public static class CliErrors
{
    /// <summary>Exit code for bad input (files, flags, checkpoints).</summary>
    public const int BadInput = 2;

    /// <summary>Exit code for unexpected internal errors.</summary>
    public const int Internal = 70;

    public static int Report(Exception e)
    {
        var root = e;
        while (root is AggregateException { InnerException: not null } or TypeInitializationException { InnerException: not null }
               or System.Reflection.TargetInvocationException { InnerException: not null })
        {
            root = root.InnerException!;
        }
        switch (root)
        {
            case BertSharpException b:
                Console.Error.WriteLine("error: " + OneLine(b.Message));
                return BadInput;
            case FileNotFoundException f:
                Console.Error.WriteLine($"error: {f.FileName ?? "file"}: not found.");
                return BadInput;
            case DirectoryNotFoundException or UnauthorizedAccessException or IOException:
                Console.Error.WriteLine("error: " + OneLine(root.Message));
                return BadInput;
            case OperationCanceledException:
                Console.Error.WriteLine("error: cancelled.");
                return 130;
            default:
                Console.Error.WriteLine($"error: internal error ({root.GetType().Name}): {OneLine(root.Message)}");
                if (Environment.GetEnvironmentVariable("BERTSHARP_DEBUG") == "1")
                {
                    Console.Error.WriteLine(root);
                }
                return Internal;
        }
    }

    // Messages quote names from untrusted files; escapes keep them from driving the terminal.
    private static string OneLine(string s) => SafeText.Escape(s.ReplaceLineEndings(" ").Trim());
}
