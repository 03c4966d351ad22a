"""Searches over the evaluator: the sensitivity sweep and plan selection, the `output` threshold
search, and the latency objective. The top of quant."""
