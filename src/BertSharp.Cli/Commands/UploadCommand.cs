using System.CommandLine;
using BertSharp.Checkpoints;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert upload --model DIR --repo ORG/NAME</c>: publishes a model directory to the HuggingFace Hub as one commit.</summary>
internal static class UploadCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOption("The model directory to upload (config.json and weights; checkpoint-N/ folders and hidden files are left out).");
        var repo = new Option<string>("--repo") { Description = "Hub model repo, org/name (or name, in the token's own namespace).", Required = true };
        var revision = new Option<string>("--revision") { Description = "Branch to commit to.", DefaultValueFactory = _ => "main" };
        var create = new Option<bool>("--create") { Description = "Create the repo first; one that already exists is used as it is." };
        var isPrivate = new Option<bool>("--private") { Description = "With --create: make the new repo private." };
        var message = new Option<string?>("--message") { Description = "Commit message (default: Upload model using BertSharp)." };
        var endpoint = CommonOptions.HubEndpoint();
        var cmd = new Command("upload",
            "Upload a model directory to the HuggingFace Hub as one commit, as huggingface-cli upload does (the Hub decides which files " +
            "go to LFS; LFS content it already holds is not sent again). Needs a token with write access: HF_TOKEN or 'hf auth login'.")
        {
            model, repo, revision, create, isPrivate, message, endpoint,
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
            });
            Console.WriteLine($"{CliErrors.Shown(result.RepoId)} @ {CliErrors.Shown(result.CommitOid)}");
            Console.WriteLine(CliErrors.Shown(result.CommitUrl));
            return 0;
        });
        return cmd;
    }
}
