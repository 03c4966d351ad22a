"""The workstation pipeline: the stages of `edgec export / calibrate / quantize / sweep / build`
composed over one output folder and cached by content (`cache`), the whole build (`build`),
and the workstation sides of `edgec predict` and `edgec report`. The work of each stage lives
in its own package (models, exporter, calib, quant); this package only wires them together."""
