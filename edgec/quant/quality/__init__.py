"""Quality against FP32: metrics, budgets, the sample splits every figure names, quality.json and
compare.png. The bottom of quant: it imports no other quant package."""
