"""sensitivity.png: per-layer sensitivity bars and the boundary curves, layers labelled."""
from typing import Dict

from edgec.quant.quality.plots import write_png


def plot_sensitivity(record: Dict[str, object], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = record["results"]
    metric = results["metric"]
    unit = "dB" if metric == "psnr_db" else ""
    label = "PSNR" if metric == "psnr_db" else "SSIM"
    rows = results["per_layer"]
    names = [r["layer"] for r in rows]
    chosen = set(results["selection"]["fp16_layers"])
    x = list(range(len(names)))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(10, 0.32 * len(names) + 3), 9))

    drops = [r["drop_when_int8"] or 0.0 for r in rows]  # None: non-finite outputs
    gains = [r["gain_when_fp16"] or 0.0 for r in rows]
    width = 0.4
    top.bar([i - width / 2 for i in x], drops, width, label="%s drop: layer alone INT8 (rest FP16)"
            % label, color="#d62728")
    top.bar([i + width / 2 for i in x], gains, width, label="%s gain: layer alone FP16 (rest INT8)"
            % label, color="#2ca02c")
    top.set_xticks(x)
    top.set_xticklabels(names, rotation=90, fontsize=7)
    for tick, name in zip(top.get_xticklabels(), names):
        if name in chosen:
            tick.set_color("#1f77b4")
            tick.set_fontweight("bold")
    top.set_ylabel("%s change (%s)" % (label, unit))
    top.set_title("%s: per-layer INT8 sensitivity (%d held-out samples); bold blue = FP16 in the plan"
                  % (record["model"], record["settings"]["samples"]))
    top.legend(fontsize=8)
    top.grid(axis="y", alpha=0.3)

    for direction, style, text in (("head_fp16", "-o", "first k layers FP16, rest INT8"),
                                   ("tail_fp16", "-s", "last k layers FP16, rest INT8")):
        points = results["boundary"][direction]
        bottom.plot([p["k"] for p in points],
                    [p["metrics"][metric] if p["metrics"][metric] is not None else float("nan")
                     for p in points], style,
                    markersize=3, label=text)
    bottom.axhline(results["all_fp16"][metric], color="gray", linestyle="--", label="all FP16")
    bottom.axhline(results["all_int8"][metric], color="black", linestyle=":", label="all INT8")
    for text, bound in results["budget"]["bounds"].items():
        if text.startswith(label.lower()):
            bottom.axhline(bound, color="#1f77b4", linestyle="-.", label="budget %s" % text)
    plan_value = results["selection"]["metrics"][metric]
    bottom.scatter([len(chosen)], [plan_value], color="#1f77b4", zorder=5, marker="*", s=120,
                   label="selected plan (%d FP16 layers)" % len(chosen))
    bottom.set_xlabel("boundary index k (layers in definition order: %s ... %s)"
                      % (names[0], names[-1]))
    bottom.set_ylabel("%s vs FP32 (%s)" % (label, unit))
    bottom.set_title("Boundary sweep (the paper's analysis), both directions")
    bottom.legend(fontsize=8)
    bottom.grid(alpha=0.3)
    write_png(fig, path)
