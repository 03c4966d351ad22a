"""The fake-quant evaluator: the PyTorch model computing what the Q/DQ file computes, from the
same spec, and the partial runner that recomputes only what a configuration changes."""
