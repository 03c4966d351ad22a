"""Figures written the way every edgec figure is: laid out, atomically, closed."""


def write_png(fig, path: str, dpi: int = 110) -> None:
    """The figure laid out, written atomically as a PNG, and closed."""
    import io

    import matplotlib.pyplot as plt

    from edgec.fileio import atomic_write_bytes

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
