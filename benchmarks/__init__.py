"""sparsenum benchmarks: our solvers against their peers, same inputs, same process."""
