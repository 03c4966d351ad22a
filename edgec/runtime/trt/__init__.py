"""The TensorRT path: detection, the per-version API decisions (`versions`), the engine
builder as small steps (`builder`), the runner (`runner`), the engine sidecar, and the mapping
between plan layers and network layers. Nothing here imports tensorrt at import time.
Python 3.6 compatible."""
