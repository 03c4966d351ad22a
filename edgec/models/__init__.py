"""The model zoo. Must not import onnx or tensorrt."""
from edgec.models.registry import (InputSpec, ModelEntry, get_model, model_names,  # noqa: F401
                                   resolve_model)
