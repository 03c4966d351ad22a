"""Where the evaluator runs: `auto` takes the GPU when PyTorch sees one. Shared by the sweep,
the output threshold search and distillation, which all run PyTorch models."""


def pick_device(device: str) -> str:
    import torch

    from edgec.errors import EdgecError

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise EdgecError("--device cuda: PyTorch sees no CUDA device here")
    return device
