using System.CommandLine;
using BertSharp.Checkpoints;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert upload --model DIR --repo ORG/NAME</c>: publishes a model directory to the HuggingFace Hub as one commit.</summary>
internal static class UploadCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOption(
            "The model directory to upload (config.json and weights; .git, .cache/huggingface, bert's .bertsharp list and checkpoint-N/ folders are left out).");
        var repo = new Option<string>("--repo") { Description = "Hub model repo, org/name (or name, in the token's own namespace).", Required = true };
        var revision = new Option<string>("--revision") { Description = "Branch to commit to.", DefaultValueFactory = _ => "main" };
        var create = new Option<bool>("--create") { Description = "Create the repo first; one that already exists is used as it is." };
        var isPrivate = new Option<bool>("--private") { Description = "With --create: make the new repo private." };
        var message = new Option<string?>("--message") { Description = "Commit message (default: Upload model using BertSharp)." };
        var include = new Option<string[]>("--include")
        {
            HelpName = "GLOB",
            Description = "Upload only the files whose path in the repo matches this glob (repeatable; fnmatch: * also matches /, " +
                "'eval/' is the whole folder), as huggingface-cli upload --include.",
        };
        var exclude = new Option<string[]>("--exclude")
        {
            HelpName = "GLOB",
            Description = "Leave out the files whose path matches this glob (repeatable), as huggingface-cli upload --exclude. " +
                "The directory must still hold config.json and weights; excluding the weights keeps the repo's own copy (e.g. to update the model card).",
        };
        var endpoint = CommonOptions.HubEndpoint();
        var cmd = new Command("upload",
            "Upload a model directory to the HuggingFace Hub as one commit, as huggingface-cli upload does (the Hub decides which files " +
            "go to LFS; LFS content it already holds is not sent again; files the repo has unchanged are skipped, and nothing is " +
            "committed when none changed). Needs a token with write access: HF_TOKEN or 'hf auth login'.")
        {
            model, repo, revision, create, isPrivate, message, include, exclude, endpoint,
        };
        cmd.SetAction(parse =>
        {
            var options = new HubOptions
            {
                Revision = parse.GetValue(revision) ?? "main",
                Endpoint = parse.GetValue(endpoint),
                Log = Console.Out,
            };
            using var client = new HubClient(options);
            var result = client.UploadFolder(parse.GetValue(model)!, parse.GetValue(repo)!, new HubUploadOptions
            {
                CreateRepo = parse.GetValue(create),
                Private = parse.GetValue(isPrivate),
                CommitMessage = parse.GetValue(message),
                AllowPatterns = parse.GetValue(include) is { Length: > 0 } allow ? allow : null,
                IgnorePatterns = parse.GetValue(exclude),
            });
            var unchanged = FormattableString.Invariant($"{result.Unchanged} unchanged file{(result.Unchanged == 1 ? "" : "s")}");
            if (!result.Committed)
            {
                // huggingface_hub's warning, with what the repo stays at.
                Console.WriteLine(
                    $"No files have been modified since last commit ({unchanged}): no commit made; {CliErrors.Shown(result.RepoId)} stays at {CliErrors.Shown(result.CommitOid)}.");
                return 0;
            }
            if (result.Unchanged > 0)
            {
                Console.WriteLine($"{unchanged} skipped (the repo has the same content).");
            }
            Console.WriteLine($"{CliErrors.Shown(result.RepoId)} @ {CliErrors.Shown(result.CommitOid)}");
            Console.WriteLine(CliErrors.Shown(result.CommitUrl));
            return 0;
        });
        return cmd;
    }
}
