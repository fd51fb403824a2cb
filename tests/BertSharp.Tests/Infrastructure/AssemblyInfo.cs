// Test classes run in parallel (one collection per class; xunit.runner.json sizes the pool), slow ones started first. The
// classes whose results depend on process-wide state — torch's default RNG (torch.manual_seed, dropout, module
// initialisation), libtorch's thread count, Console redirection, environment variables — join SerialCollection, which xunit
// runs alone after the others. See tests/README.md.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerClass)]
[assembly: TestCollectionOrderer("BertSharp.Tests.Infrastructure.SlowFirstOrderer", "BertSharp.Tests")]
// Every synchronous test holds the tensors it creates until it ends (HoldTensorsDuringTestAttribute).
[assembly: BertSharp.Tests.Infrastructure.HoldTensorsDuringTest]
