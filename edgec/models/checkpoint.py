"""Safe, strict checkpoint loading.

Accepts the original Wav2Lip format (a dict with `state_dict`, keys maybe prefixed `module.` by
DataParallel, plus optimizer state and counters) and plain state dicts. Loading never executes
pickled code (`weights_only=True`); every failure names the file and what is wrong with it.
"""
import os
import warnings
from typing import Callable, Dict, Iterable, List, Tuple

from edgec.errors import EdgecError

_PREFIXES = ("module.",)


def read_state_dict(path: str, adapter=None) -> Dict[str, "object"]:
    """The tensors of a checkpoint file, with DataParallel prefixes removed; `adapter` first
    turns a model-specific layout (nested groups, spectral-norm parametrisation) into a flat
    state dict."""
    import pickle

    import torch

    if not os.path.isfile(path):
        raise EdgecError("checkpoint %s: no such file" % path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "Weights only load failed" in text:
            raise EdgecError(
                "checkpoint %s holds Python objects other than tensors and plain containers; "
                "edgec loads checkpoints with weights_only=True so that no pickled code runs. "
                "Re-save it as a plain state_dict (torch.save(model.state_dict(), ...))." % path)
        raise EdgecError("checkpoint %s is not a PyTorch checkpoint (%s)"
                         % (path, text.strip().split(". ")[0]))
    except Exception as exc:  # torch.load raises many types for damaged files
        # First sentence only: torch's messages run on for several lines.
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        first = "%s: %s" % (type(exc).__name__, text.split(". ")[0])
        raise EdgecError("checkpoint %s cannot be read: it is truncated, corrupt or not a "
                         "PyTorch checkpoint (%s)" % (path, first))

    if adapter is not None:
        try:
            obj = adapter(obj)
        except (KeyError, TypeError, AttributeError, ValueError, RuntimeError) as exc:
            raise EdgecError("checkpoint %s does not have the layout this model's released "
                             "weights have (%s: %s)" % (path, type(exc).__name__, exc))
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        state = obj["state_dict"]
    elif isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        state = obj
    else:
        keys = sorted(obj)[:8] if isinstance(obj, dict) else []
        raise EdgecError("checkpoint %s holds no state_dict: expected a dict of tensors or a dict "
                         "with a 'state_dict' entry, found %s%s"
                         % (path, type(obj).__name__, " with keys %s" % keys if keys else ""))
    cleaned = {}
    for key, value in state.items():
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        if not isinstance(value, torch.Tensor):
            raise EdgecError("checkpoint %s: state_dict entry %r is a %s, not a tensor"
                             % (path, key, type(value).__name__))
        cleaned[key] = value
    return cleaned


def compare_keys(expected: Dict[str, Tuple[int, ...]], found: Dict[str, Tuple[int, ...]]
                 ) -> Tuple[List[str], List[str], List[str]]:
    """Missing keys, unexpected keys, and keys whose shapes differ (`key: found vs expected`)."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    misshaped = ["%s: %s vs %s" % (k, list(found[k]), list(expected[k]))
                 for k in sorted(set(expected) & set(found)) if tuple(found[k]) != tuple(expected[k])]
    return missing, unexpected, misshaped


def _listing(label: str, items: List[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    more = " and %d more" % (len(items) - limit) if len(items) > limit else ""
    return "%d %s (%s%s)" % (len(items), label, shown, more)


def _shapes(state) -> Dict[str, Tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state.items()}


def load_checkpoint(model, path: str, model_name: str, adapter=None,
                    candidates: Iterable[Tuple[str, Callable[[], object]]] = ()) -> None:
    """Load `path` into `model` strictly; on mismatch, say what differs and which of
    `candidates` (zoo name, factory) the checkpoint would fit, if any."""
    state = read_state_dict(path, adapter)
    expected = _shapes(model.state_dict())
    found = _shapes(state)
    missing, unexpected, misshaped = compare_keys(expected, found)
    if missing or unexpected or misshaped:
        parts = [_listing(label, items) for label, items in
                 (("missing keys", missing), ("unexpected keys", unexpected),
                  ("mis-shaped keys", misshaped)) if items]
        hint = _matching_model(found, candidates, exclude=model_name)
        raise EdgecError("checkpoint %s does not match model %r: %s.%s"
                         % (path, model_name, "; ".join(parts),
                            " It matches zoo model %r: use --model %s." % (hint, hint)
                            if hint else ""))
    model.load_state_dict(state, strict=True)


def _matching_model(found: Dict[str, Tuple[int, ...]],
                    candidates: Iterable[Tuple[str, Callable[[], object]]], exclude: str):
    import torch

    for name, factory in candidates:
        if name == exclude:
            continue
        with torch.device("meta"):  # shapes only: some zoo models are gigabytes
            expected = _shapes(factory().state_dict())
        if not any(compare_keys(expected, found)):
            return name
    return None
