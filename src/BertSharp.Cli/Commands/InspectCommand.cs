using System.CommandLine;
using System.Globalization;
using BertSharp.Checkpoints;
using BertSharp.Modeling;
using Spectre.Console;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert inspect MODEL</c>: config, parameters per module, and the checkpoint's tensors.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOptionOrArgument(
            "Model directory (config.json + model.safetensors or pytorch_model.bin), Hub id, size preset (tiny ... large) or config.json file.");
        var noKeys = new Option<bool>("--no-keys") { Description = "Leave out the table of checkpoint tensors." };
        var noTree = new Option<bool>("--no-tree") { Description = "Leave out the module tree." };
        var architecture = CommonOptions.Architecture("of the tree", "the config's architectures[0]; BertModel for a preset");
        var cmd = new Command("inspect", "Show a BERT checkpoint or size preset: config, parameter count per module, module tree (as print(model)), tensor names, dtypes and shapes.")
        {
            model.Option,
            model.Positional,
            noKeys,
            noTree,
            architecture,
        };
        cmd.SetAction(parse =>
        {
            var name = CommonOptions.Model(parse, model, "a model directory, Hub id, size preset or config.json file");
            ModelInspection info;
            string? tree = null;
            // A preset name or a config file describes a model that has no weights yet: build it to show its shape.
            if (!Directory.Exists(name) && (BertConfig.PresetNames.Contains(name.Trim().ToLowerInvariant()) || name.EndsWith(".json", StringComparison.OrdinalIgnoreCase)))
            {
                info = ModelInspection.ForConfig(name, parse.GetValue(architecture), out var built);
                tree = built;
            }
            else
            {
                var dir = BertPretrained.ResolveDirectory(name);
                // A Hub id is shown as typed, not as the snapshot in the cache it resolved to; a directory as typed too.
                info = ModelInspection.Read(dir) with { Directory = CliInput.SaidAsTyped(parse, TypedModelNames.Named(name, dir, dir)) };
                if (!parse.GetValue(noTree))
                {
                    tree = ModelInspection.Tree(dir, parse.GetValue(architecture));
                }
            }
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(parse.InvocationConfiguration.Output),
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
            });
            console.Profile.Width = Math.Max(console.Profile.Width, 120);
            Render(console, info, !parse.GetValue(noKeys) && info.WeightsFile is not null, parse.GetValue(noTree) ? null : tree);
            return 0;
        });
        return cmd;
    }

    private static void Render(IAnsiConsole console, ModelInspection info, bool keys, string? tree)
    {
        var c = info.Config;
        console.WriteLine($"model        {SafeText.Escape(info.Directory)}");
        console.WriteLine(info.WeightsFile is null
            ? "weights      none (a preset or config file: the numbers below are those of a fresh model)"
            : $"weights      {Weights(info.WeightsFile)}");
        console.WriteLine($"architecture {SafeText.Escape(string.Join(", ", c.Architectures ?? ["(none)"]))}");
        console.WriteLine($"parameters   {info.TotalParameters:N0}");
        console.WriteLine();

        var config = new Table().Title("config").AddColumn("field").AddColumn("value");
        void Row(string k, object? v) => config.AddRow(Markup.Escape(k), Cell(v is null ? "null" : Convert.ToString(v, CultureInfo.InvariantCulture)));
        Row("vocab_size", c.VocabSize);
        Row("hidden_size", c.HiddenSize);
        Row("num_hidden_layers", c.NumHiddenLayers);
        Row("num_attention_heads", c.NumAttentionHeads);
        Row("intermediate_size", c.IntermediateSize);
        Row("hidden_act", c.HiddenAct);
        Row("max_position_embeddings", c.MaxPositionEmbeddings);
        Row("type_vocab_size", c.TypeVocabSize);
        Row("hidden_dropout_prob", c.HiddenDropoutProb);
        Row("attention_probs_dropout_prob", c.AttentionProbsDropoutProb);
        Row("classifier_dropout", c.ClassifierDropout);
        if (c.ClassifierPooling is { } pooling)
        {
            Row("classifier_pooling", pooling);
        }
        Row("layer_norm_eps", c.LayerNormEps);
        Row("initializer_range", c.InitializerRange);
        Row("position_embedding_type", c.PositionEmbeddingType);
        Row("pad_token_id", c.PadTokenId);
        Row("num_labels", c.NumLabels);
        Row("id2label", string.Join(", ", c.Id2Label.Select(kv => $"{kv.Key}={kv.Value}")));
        Row("problem_type", c.ProblemType);
        Row("torch_dtype", c.TorchDtype);
        console.Write(config);
        console.WriteLine();

        var modules = new Table().Title("parameters per module").AddColumn("module").AddColumn(new TableColumn("parameters").RightAligned());
        foreach (var m in info.Modules)
        {
            modules.AddRow(Cell(m.Module), m.Count.ToString("N0", CultureInfo.InvariantCulture));
        }
        modules.AddRow("total", info.TotalParameters.ToString("N0", CultureInfo.InvariantCulture));
        console.Write(modules);
        console.WriteLine();

        if (tree is not null)
        {
            // Plain text, not a Spectre renderable: it must not be wrapped or re-indented.
            console.Profile.Out.Writer.WriteLine(tree);
            console.WriteLine();
        }

        if (keys)
        {
            var t = new Table().Title($"checkpoint tensors ({info.Tensors.Count})").AddColumn("key").AddColumn("dtype").AddColumn("shape");
            foreach (var x in info.Tensors)
            {
                t.AddRow(Cell(x.Name), Cell(x.DType), Markup.Escape("[" + string.Join(", ", x.Shape) + "]"));
            }
            console.Write(t);
        }
    }

    // A shard index is a few kilobytes: the weights' size is its shards'.
    private static string Weights(string file)
    {
        var name = SafeText.Escape(Path.GetFileName(file));
        if (!file.EndsWith(".index.json", StringComparison.Ordinal))
        {
            return $"{name} ({IO.LinkedFile.Length(file):N0} bytes)";
        }
        var shards = ShardIndex.Read(file).Shards;
        var dir = Path.GetDirectoryName(file)!;
        return $"{name} ({shards.Count:N0} shards, {shards.Sum(s => IO.LinkedFile.Length(Path.Combine(dir, s))):N0} bytes)";
    }

    // Names come from the checkpoint: terminal escapes are made visible, then Spectre's markup brackets are escaped.
    private static string Cell(string? text) => Markup.Escape(SafeText.Escape(text));
}
