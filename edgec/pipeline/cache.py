"""Stage caching: a stage whose inputs (file hashes, options, versions) are unchanged is not
re-run. Each stage leaves a stamp in `<out>/.edgec/<stage>.json` holding the hash of its key and
the hashes of its outputs; a stage is reused only when the key matches and every output is still
there with the recorded hash (so a damaged or hand-edited output is rebuilt, not trusted)."""
import json
import os
import time
from typing import Callable, Dict, List, Optional, Tuple

from edgec import __version__
from edgec.artifacts import STAMP_DIR
from edgec.fileio import atomic_write_json, sha256_bytes, sha256_file
from edgec.fingerprints import content_hash, with_data_file


def _hash_outputs(paths: List[str]) -> Dict[str, str]:
    hashes = {}
    for path in paths:
        if os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(folder, name)
                    hashes[os.path.relpath(full, os.path.dirname(path))] = sha256_file(full)
        else:
            for name in with_data_file(path):
                hashes[os.path.basename(name)] = content_hash(name)
    return hashes


class StageRunner(object):
    """Runs stages in one output folder and remembers which were reused."""

    def __init__(self, out_dir: str, force: bool = False, total_stages: int = 0,
                 report: Optional[Callable[[str], None]] = None):
        self.out_dir = out_dir
        self.force = force
        self.log = []  # type: List[Dict[str, object]]
        self.total_stages = total_stages
        self.report = report  # one line per stage start and end: the whole run's progress

    def _say(self, text: str) -> None:
        if self.report is not None:
            self.report("[%d/%s] %s" % (len(self.log) + 1, self.total_stages or "?", text))

    def _stamp_path(self, name: str) -> str:
        return os.path.join(self.out_dir, STAMP_DIR, name + ".json")

    def _key_hash(self, key: Dict[str, object]) -> Tuple[Dict[str, object], str]:
        key = dict(key, edgec=__version__)
        return key, sha256_bytes(json.dumps(key, sort_keys=True, default=str).encode())

    def current(self, name: str, key: Dict[str, object], outputs: List[str]) -> bool:
        """Whether a valid stamp says the stage's outputs are current (run() would reuse them):
        lets a stage put off a costly decision that only a rerun needs."""
        if self.force or not os.path.isfile(self._stamp_path(name)):
            return False
        try:
            with open(self._stamp_path(name)) as handle:
                stamp = json.load(handle)
            return (stamp.get("key_hash") == self._key_hash(key)[1]
                    and all(os.path.exists(p) for p in outputs)
                    and stamp.get("outputs") == _hash_outputs(outputs))
        except (OSError, ValueError):
            return False  # an unreadable stamp only means the stage runs again

    def run(self, name: str, key: Dict[str, object], outputs: List[str],
            fn: Callable[[], object]) -> bool:
        """Run `fn` unless a valid stamp says its outputs are current. Returns True if reused."""
        if self.current(name, key, outputs):
            self._say("%s: reused (inputs unchanged)" % name)
            self.log.append({"stage": name, "reused": True, "seconds": 0.0})
            return True
        key, key_hash = self._key_hash(key)
        self._say("%s ..." % name)
        start = time.time()
        fn()
        seconds = time.time() - start
        atomic_write_json(self._stamp_path(name), {"stage": name, "key": key,
                                                   "key_hash": key_hash,
                                                   "outputs": _hash_outputs(outputs)})
        self.log.append({"stage": name, "reused": False, "seconds": round(seconds, 3)})
        return False

    def skip(self, name: str, reason: str) -> None:
        """A stage that does not apply here: logged with its reason, so no output is missing
        silently."""
        self._say("%s: skipped (%s)" % (name, reason))
        self.log.append({"stage": name, "reused": False, "seconds": 0.0, "skipped": reason})
