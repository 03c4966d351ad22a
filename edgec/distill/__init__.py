"""Knowledge distillation of a compact student from a frozen teacher (the compression paper's
second stage): `edgec distill`."""
