"""The benchmarks' smoke runs: each script runs, small, and its JSON keeps its shape."""
