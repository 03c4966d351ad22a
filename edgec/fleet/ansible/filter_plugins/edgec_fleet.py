"""Filters of the edgec campaign. They run on the workstation (Ansible's controller) and judge
what the play read from a board with edgec's own code, so the preflight and edgec on the board
agree on what the board is."""
import base64
import json

from edgec.fleet.preflight import judge_board, outcome_record, selftest_failures


def _content(result):
    if result.get("failed") or "content" not in result:
        return None
    return base64.b64decode(result["content"])


def edgec_preflight(slurped, host, groups, root, free_kib, min_free_mib):
    compatible, model, release = (_content(r) for r in slurped)
    return judge_board(host, groups, root, compatible, model, release, free_kib, min_free_mib)


def edgec_selftest_failures(slurped):
    content = _content(slurped) if isinstance(slurped, dict) else None
    record = None
    if content is not None:
        try:
            record = json.loads(content.decode("utf-8"))
        except ValueError:
            record = None
    return selftest_failures(record)


def edgec_outcome(build, bench, bench_timeout=None):
    return outcome_record(build, bench, bench_timeout)


class FilterModule(object):
    def filters(self):
        return {"edgec_preflight": edgec_preflight,
                "edgec_selftest_failures": edgec_selftest_failures,
                "edgec_outcome": edgec_outcome}
