"""The tools: the command line (``cli``), closed-form cost of a model (``cost``), benchmarks
(``bench``). Each parses, calls one library function and renders; nothing else."""
