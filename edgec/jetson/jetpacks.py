"""The JetPack table: what each JetPack line ships (L4T, TensorRT, CUDA, Python, Ubuntu), the
container base image edgec's L4T image builds on, and the fleet group and image tag it goes by.
Every JetPack list in edgec derives from it: detection (L4T release -> JetPack -> TensorRT), the
fleet's JetPack groups and the inventory template, Dockerfile.l4t's stages (a test checks one
stage per row that has a base image).

Facts: ../shared/REFERENCE.md sections 3 and 6 (NVIDIA's JetPack archive and release notes).
Python 3.6 compatible.
"""
from typing import List, Optional, Sequence, Tuple  # noqa: F401


class JetPack(object):
    def __init__(self, group, version, l4t, tensorrt, cuda, python, ubuntu, base_image,
                 releases):
        # type: (str, str, str, str, str, str, str, Optional[str], Sequence[Tuple[str, str]]) -> None  # noqa: E501
        self.group = group  # the fleet's Ansible group and the image tag's suffix
        self.version = version  # the line, e.g. "6.2" for 6.1, 6.2, 6.2.x
        self.l4t = l4t  # the L4T release prefix of the line, e.g. "36.4"
        self.tensorrt = tensorrt
        self.cuda = cuda
        self.python = python
        self.ubuntu = ubuntu
        # Dockerfile.l4t's base for this line (None: no image yet, said in the Dockerfile)
        self.base_image = base_image
        self.releases = list(releases)  # (L4T release, JetPack version) of the line

    @property
    def image(self):
        # type: () -> str
        return "edgec:%s" % self.group

    @property
    def interpreter(self):
        # type: () -> str
        return "/usr/bin/python%s" % self.python

    @property
    def l4t_major(self):
        # type: () -> str
        return self.l4t.split(".")[0]


JETPACKS = [
    JetPack("jp46", "4.6", "32.7", "8.2.1", "10.2", "3.6", "18.04",
            "nvcr.io/nvidia/l4t-base:r32.7.1",
            [("32.5", "4.5"), ("32.5.1", "4.5.1"), ("32.5.2", "4.5.1"), ("32.6.1", "4.6"),
             ("32.7.1", "4.6.1"), ("32.7.2", "4.6.2"), ("32.7.3", "4.6.3"),
             ("32.7.4", "4.6.4"), ("32.7.5", "4.6.5"), ("32.7.6", "4.6.6")]),
    JetPack("jp51", "5.1", "35", "8.5.2", "11.4", "3.8", "20.04",
            "nvcr.io/nvidia/l4t-tensorrt:r8.5.2-runtime",
            [("35.1.0", "5.0.2"), ("35.2.1", "5.1"), ("35.3.1", "5.1.1"), ("35.4.1", "5.1.2"),
             ("35.5.0", "5.1.3"), ("35.6.0", "5.1.4")]),
    JetPack("jp60", "6.0", "36.2", "8.6.2", "12.2", "3.10", "22.04",
            "nvcr.io/nvidia/l4t-jetpack:r36.3.0",
            [("36.2.0", "6.0 DP"), ("36.3.0", "6.0")]),
    JetPack("jp62", "6.2", "36.4", "10.3.0", "12.6", "3.10", "22.04",
            "nvcr.io/nvidia/l4t-jetpack:r36.4.0",
            [("36.4.0", "6.1"), ("36.4.2", "6.1"), ("36.4.3", "6.2"), ("36.4.4", "6.2.1"),
             ("36.4.7", "6.2.1"), ("36.5.0", "6.2.2")]),
    JetPack("jp72", "7.2", "39.2", "10.16", "13.2", "3.12", "24.04", None,
            [("39.0.0", "7.2 EA"), ("39.2.0", "7.2"), ("39.2.1", "7.2.1")]),
]  # type: List[JetPack]


def _matches(l4t, prefix):
    # type: (str, str) -> bool
    return l4t == prefix or l4t.startswith(prefix + ".")


def release_of(l4t):
    # type: (Optional[str]) -> Optional[Tuple[str, JetPack]]
    """(JetPack version, its line) for an L4T release like "36.4.3"; the longest matching
    release prefix wins. None for an L4T release no row names."""
    if not l4t:
        return None
    best = None  # type: Optional[Tuple[str, str, JetPack]]
    for line in JETPACKS:
        for prefix, version in line.releases:
            if _matches(l4t, prefix) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, version, line)
    return (best[1], best[2]) if best else None


def line_of(l4t):
    # type: (Optional[str]) -> Optional[JetPack]
    """The JetPack line an L4T release belongs to, also for a point release no row lists
    (R36.4.7 is JetPack 6.2's line): by the line's L4T prefix."""
    found = release_of(l4t)
    if found:
        return found[1]
    matches = [j for j in JETPACKS if l4t and _matches(l4t, j.l4t)]
    return max(matches, key=lambda j: len(j.l4t)) if matches else None
