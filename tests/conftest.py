import os

import pytest
from click.testing import CliRunner

from edgec.cli import main

TIERS = ("unit", "e2e", "fleet")


def pytest_collection_modifyitems(config, items):
    """Each test gets its tier's marker from its folder (tests/unit/..., tests/e2e, tests/fleet),
    so `-m unit` selects as the folders do; `gpu` tests are skipped without a CUDA device."""
    cuda = None
    for item in items:
        parts = os.path.relpath(str(item.fspath), os.path.dirname(__file__)).split(os.sep)
        if parts[0] in TIERS:
            item.add_marker(parts[0])
        if item.get_closest_marker("gpu"):
            if cuda is None:
                import torch

                cuda = torch.cuda.is_available()
            if not cuda:
                item.add_marker(pytest.mark.skip(reason="needs a CUDA device"))


@pytest.fixture
def run_cli():
    """Run `edgec ARGS...` in-process; returns the click Result."""
    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return run


def save_original_format(model, path):
    """A checkpoint as the original Wav2Lip training script saved it: DataParallel prefixes,
    optimizer state and step counters."""
    import torch

    torch.save({"state_dict": {"module." + k: v for k, v in model.state_dict().items()},
                "optimizer": torch.optim.Adam(model.parameters(), lr=1e-4).state_dict(),
                "global_step": 12345, "global_epoch": 7}, path)


@pytest.fixture(scope="session")
def trained_like_checkpoints(tmp_path_factory):
    """Original-format checkpoints for both zoo models, with weights that differ from the random
    initialisation (so loading is observable)."""
    import torch

    from edgec.models import get_model

    folder = tmp_path_factory.mktemp("ckpt")
    paths = {}
    for name in ("wav2lip", "lite-wav2lip"):
        model = get_model(name).build()
        gen = torch.Generator().manual_seed(7)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(1 + 0.05 * torch.randn(p.shape, generator=gen))
        path = str(folder / ("%s.pth" % name))
        save_original_format(model, path)
        paths[name] = path
    return paths


def listdir_or_none(path):
    return sorted(os.listdir(path)) if os.path.exists(path) else None


@pytest.fixture(scope="session")
def lrs2_tree(tmp_path_factory):
    """A small raw-LRS2-layout tree of real-format clips (a real face photograph, moving)."""
    from edgec.calib import synthetic

    root = str(tmp_path_factory.mktemp("lrs2-small"))
    return synthetic.write_lrs2_tree(root, speakers=2, clips_per_speaker=1, n_frames=40)
