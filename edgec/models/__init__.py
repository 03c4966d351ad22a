"""The model zoo. Must not import onnx or tensorrt."""
from edgec.models.entry import InputSpec, ModelEntry  # noqa: F401
from edgec.models.registry import get_model, model_names, model_source, resolve_model  # noqa: F401
