using System.IO.Compression;
using BertSharp.Data;
using BertSharp.Data.Pretraining;
using BertSharp.IO;

namespace BertSharp.Fuzz;

/// <summary>
/// The data readers: fine-tuning files (GLUE TSVs with and without header, CSV with quoting, JSONL, regression labels),
/// plain and gzipped; the line reader with a small line limit; pre-training corpora in every layout; text corpora. The
/// first byte picks the reader, the second whether the bytes are gzipped; the rest is the file.
/// </summary>
public sealed class DatasetTarget : FuzzTarget
{
    private static readonly (string Extension, Action<string> Read)[] Readers =
    [
        (".tsv", p => DatasetReader.Read(p, TaskSpec.Sst2)),
        (".tsv", p => DatasetReader.Read(p, TaskSpec.Cola)),
        (".tsv", p => DatasetReader.Read(p, TaskSpec.Mrpc)),
        (".csv", p => DatasetReader.Read(p, TaskSpec.Get("csv"))),
        (".csv", p => DatasetReader.Read(p, TaskSpec.Get("csv", "text", "pair", "label"), requireLabels: false)),
        (".jsonl", p => DatasetReader.Read(p, TaskSpec.Get("jsonl"))),
        (".jsonl", p => DatasetReader.Read(p, TaskSpec.Get("jsonl", regression: true))),
        (".txt", p => TextLines.ReadWithLimit(p, maxLineBytes: 256).Count()),
        (".txt", p => CorpusReader.ReadDocuments(p, CorpusFormat.Auto).Sum(d => d.Count)),
        (".txt", p => CorpusReader.ReadDocuments(p, CorpusFormat.Book).Sum(d => d.Count)),
        (".txt", p => CorpusReader.ReadDocuments(p, CorpusFormat.DocumentPerLine).Sum(d => d.Count)),
        (".csv", p => TextCorpus.ReadTexts(p)),
    ];

    public DatasetTarget()
    {
        var dir = Path.Combine(Repo.Fixtures, "data");
        var seeds = new List<byte[]>();
        void Add(int reader, string file) => seeds.Add([(byte)reader, 0, .. File.ReadAllBytes(Path.Combine(dir, file))]);
        Add(0, "sst2_train.tsv");
        Add(0, "bad_utf8.tsv");
        Add(0, "short_row.tsv");
        Add(1, "cola_train.tsv");
        Add(2, "mrpc_train.tsv");
        Add(3, "custom.csv");
        Add(3, "unseen_label.csv");
        Add(4, "numeric_text.csv");
        Add(5, "custom.jsonl");
        Add(5, "non_text.jsonl");
        Add(6, "regression.tsv");
        Add(7, "sst2_train.tsv");
        Add(8, "mrpc_train.tsv");
        Add(9, "cola_train.tsv");
        Add(10, "custom.csv");
        Add(11, "custom.csv");
        seeds.Add([8, 0, .. "*** START OF THE BOOK ***\nCHAPTER I\n\nIt was a dark night.\nThe end came.\n\nCHAPTER II\nAgain.\n*** END OF\n"u8]);
        seeds.Add([5, 0, .. "{\"text\": \"a \\ud800 b\", \"label\": 1}\n{\"text\": \"ok\", \"label\": 0}\n"u8]);
        Seeds = seeds;
    }

    public override string Name => "datasets";

    public override IReadOnlyList<byte[]> Seeds { get; }

    public override void Run(byte[] input)
    {
        if (input.Length < 2)
        {
            return;
        }
        var (extension, read) = Readers[input[0] % Readers.Length];
        var gz = (input[1] & 1) != 0;
        var path = Path.Combine(Repo.Scratch, "fuzz-data" + extension + (gz ? ".gz" : ""));
        if (gz)
        {
            using var f = File.Create(path);
            using var z = new GZipStream(f, CompressionLevel.Fastest);
            z.Write(input, 2, input.Length - 2);
        }
        else
        {
            File.WriteAllBytes(path, input[2..]);
        }
        read(path);
    }
}
