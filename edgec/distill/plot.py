"""distill-loss.png: each weighted term of the objective over the steps, log scale."""
from typing import Dict


def plot_losses(record: Dict[str, object], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgec.quant.quality.plots import write_png

    losses = record["losses"]
    weights = record["objective"]["weights"]
    steps = [row["step"] for row in losses]
    fig, axis = plt.subplots(figsize=(8, 4.5))
    axis.plot(steps, [row["total"] for row in losses], color="black", linewidth=2,
              label="total")
    for term in record["objective"]["terms"]:
        axis.plot(steps, [weights[term] * row[term] for row in losses],
                  label="%s x %g" % (term, weights[term]))
    axis.set_yscale("log")
    axis.set_xlabel("step (batch %d)" % record["settings"]["batch_size"])
    axis.set_ylabel("weighted loss (mean over %d steps)" % (steps[0] if steps else 1))
    quality = record.get("student_vs_teacher")
    title = "%s distilled from %s: %d steps, %.0f s on %s" % (
        record["student"], record["teacher"], record["step"], record["seconds"],
        record["device"])
    if quality and quality.get("psnr_db") is not None:
        title += "\nheld-out: PSNR %.2f dB, SSIM %.4f vs the teacher" % (quality["psnr_db"],
                                                                          quality["ssim"])
    axis.set_title(title, fontsize=10)
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    write_png(fig, path)
