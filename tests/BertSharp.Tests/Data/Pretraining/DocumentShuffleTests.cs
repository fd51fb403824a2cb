using BertSharp.Data.Pretraining;

namespace BertSharp.Tests.Data.Pretraining;

/// <summary>
/// google's <c>create_training_instances</c> shuffles the documents (<c>rng.shuffle(all_documents)</c>) before it makes
/// instances and draws random next segments from the shuffled list. BertSharp does it with the seed's own stream: the order is
/// worked out here from that stream's draws, swap by swap (Python's shuffle walks from the end), not by calling the shuffle.
/// </summary>
public class DocumentShuffleTests
{
    // [PAD] [UNK] [CLS] [SEP] [MASK], then words w5 ... w39.
    private static readonly List<string> Vocab = [.. new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(5, 35).Select(i => $"w{i}"))];

    // Document d is one sentence of three ids, 10 + 3d to 12 + 3d: with google's NSP rule a one-sentence chunk is always
    // "random next" with the whole sentence as A, so each document gives one instance whose A names it.
    private static int[][] Document(int d) => [[10 + (3 * d), 11 + (3 * d), 12 + (3 * d)]];

    private static int DocumentOfA(PretrainingInstance x) => (x.OriginalIds()[1] - 10) / 3;

    private static PretrainingDataBuilder Builder(long seed) => new(_ => [], Vocab, "00")
    {
        Options = new PretrainingOptions { Seed = seed, DupeFactor = 1, ShortSeqProb = 0, MaxSeqLength = 32, BalancedNsp = false },
    };

    [Fact]
    public void Each_files_documents_are_walked_in_the_order_of_googles_document_shuffle()
    {
        const long seed = 11;
        // Two files: documents 0-2 and 3-4.
        int[][][] documents = [.. Enumerable.Range(0, 5).Select(Document)];
        int[] fileStart = [0, 3, 5];

        // Python's shuffle of 5 items: for i = 4, 3, 2, 1 swap item i with item j, j uniform in [0, i], drawn in that order
        // from the stream the builder keeps for the document shuffle.
        var draws = PretrainingRng.Derive(seed, -2);
        var order = new[] { 0, 1, 2, 3, 4 };
        foreach (var i in new[] { 4, 3, 2, 1 })
        {
            var j = draws.Below(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        Assert.NotEqual([0, 1, 2, 3, 4], order);

        // Instances come unit by unit (file 0, then file 1), each file's documents in their shuffled order.
        var place = order.Select((d, k) => (d, k)).ToDictionary(p => p.d, p => p.k);
        int[] expected = [.. new[] { 0, 1, 2 }.OrderBy(d => place[d]), .. new[] { 3, 4 }.OrderBy(d => place[d])];
        var instances = Builder(seed).CreateInstancesInDocumentOrder(documents, fileStart);
        Assert.Equal(expected, instances.Select(DocumentOfA));
        Assert.NotEqual([0, 1, 2, 3, 4], expected);
        // Every instance is "random next" with B from another document of the corpus.
        Assert.All(instances, x => Assert.True(x.IsRandomNext));
        Assert.All(instances, x => Assert.NotEqual(DocumentOfA(x), (x.OriginalIds()[x.SegmentALength] - 10) / 3));

        // The same seed gives the same data; another seed another order of the documents.
        Assert.Equal(Builder(seed).CreateInstances(documents, fileStart).Select(DocumentOfA), Builder(seed).CreateInstances(documents, fileStart).Select(DocumentOfA));
        Assert.NotEqual(order, PretrainingDataBuilder.DocumentOrder(seed + 1, 5));
    }
}
