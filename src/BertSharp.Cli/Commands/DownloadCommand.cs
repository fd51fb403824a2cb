using System.CommandLine;
using BertSharp.Checkpoints;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert download MODEL_ID</c>: fetches a model from the HuggingFace Hub into the shared HF cache.</summary>
internal static class DownloadCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOptionOrArgument("Hub model id, e.g. bert-base-uncased or org/name.");
        model.Positional.Hidden = false;
        var revision = new Option<string>("--revision") { Description = "Branch, tag or commit.", DefaultValueFactory = _ => "main" };
        var cacheDir = CommonOptions.CacheDirOption();
        var offline = new Option<bool>("--offline") { Description = "Use the cache only and never touch the network (also HF_HUB_OFFLINE=1)." };
        var endpoint = CommonOptions.HubEndpoint();
        var cmd = new Command("download", "Download a model (config, weights, tokenizer files, a sentence-transformers model's modules.json and pooling config) from the HuggingFace Hub into the local HF cache; prints the snapshot directory.")
        {
            model.Positional, model.Option, revision, cacheDir, offline, endpoint,
        };
        cmd.SetAction(parse =>
        {
            var options = CommonOptions.HubCacheOptions(parse) with
            {
                Revision = parse.GetValue(revision) ?? "main",
                Offline = parse.GetValue(offline) ? true : null,
                Endpoint = parse.GetValue(endpoint),
                Log = Console.Out,
                Progress = DownloadProgress.ForConsole(),
            };
            using var client = new HubClient(options);
            var result = client.DownloadModel(CommonOptions.Model(parse, model, "a Hub model id"), options.Revision);
            Console.WriteLine($"{CliErrors.Shown(result.RepoId)} @ {CliErrors.Shown(result.Commit)}");
            Console.WriteLine(CliErrors.Shown(result.SnapshotDir));
            return 0;
        });
        return cmd;
    }
}
