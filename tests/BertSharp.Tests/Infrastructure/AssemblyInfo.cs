// libtorch's default RNG (torch.manual_seed) and its thread pool are process-wide: two test classes training at the same
// time would draw from one generator and break every "same seed, same losses" assertion. Test classes therefore run one
// after another; tests inside a class were already sequential.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
