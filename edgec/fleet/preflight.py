"""What the campaign's preflight concludes from a board's files, and each precision's outcome.
Called by the play's filters on the workstation; plain functions, so they are tested without
Ansible."""
from typing import Any, Dict, List, Optional  # noqa: F401

from edgec.fleet.inventory import BOARD_GROUPS, JETPACK_GROUPS
from edgec.jetson.detect import COMPATIBLE, board_from_files
from edgec.jetson.profiles import BY_KEY


def judge_board(host, groups, root, compatible, model, release, free_kib, min_free_mib):
    # type: (str, List[str], str, Optional[bytes], Optional[bytes], Optional[bytes], Any, Any) -> Dict[str, Any]  # noqa: E501
    """{"board": what edgec.jetson.detect makes of the files, "problems": ["<check>: why"]}."""
    problems = []  # type: List[str]
    board_groups = [g for g in groups if g in BOARD_GROUPS]
    jetpack_groups = [g for g in groups if g in JETPACK_GROUPS]
    board = board_from_files(compatible, model, release, root)
    expected = BOARD_GROUPS[board_groups[0]] if board_groups else None
    expected_name = BY_KEY[expected].name if expected else "no board group"
    if board is None:
        problems.append("board: %s is in group %s (%s) but %s is %s: not an NVIDIA Jetson"
                        % (host, board_groups[0] if board_groups else "-", expected_name,
                           root.rstrip("/") + "/" + COMPATIBLE,
                           "missing" if compatible is None else "not a Tegra device tree"))
    else:
        if board["profile"] != expected:
            problems.append("board: %s is in group %s (%s) but its device tree says %r (%s)"
                            % (host, board_groups[0] if board_groups else "-", expected_name,
                               board["model"], board["name"]))
        if jetpack_groups:
            major = JETPACK_GROUPS[jetpack_groups[0]][2]
            if board["l4t"] is None:
                problems.append("jetpack: %s is in group %s (L4T R%s) but its L4T release is "
                                "unknown (%s)" % (host, jetpack_groups[0], major,
                                                  "; ".join(board["warnings"])))
            elif board["l4t"].split(".")[0] != major:
                problems.append("jetpack: %s is in group %s (L4T R%s) but its "
                                "/etc/nv_tegra_release says L4T %s (JetPack %s)"
                                % (host, jetpack_groups[0], major, board["l4t"],
                                   board["jetpack"] or "unknown"))
    try:
        free_mib = int(free_kib) // 1024
    except (TypeError, ValueError):
        problems.append("disk: free space unknown (df printed %r)" % (free_kib,))
    else:
        if free_mib < int(min_free_mib):
            problems.append("disk: %d MiB free on %s, the campaign needs %d MiB"
                            % (free_mib, host, int(min_free_mib)))
    return {"board": board, "problems": problems}


def selftest_failures(record):
    # type: (Optional[Dict[str, Any]]) -> str
    if not record:
        return "no selftest.json was written (see selftest.log)"
    failed = [c["name"] for c in record.get("checks", []) if c.get("status") == "failed"]
    return "failed checks: %s" % (", ".join(failed) or "none listed")


TIMED_OUT = 124  # coreutils' timeout exits with it when it stopped the command


def outcome_record(build, bench, bench_timeout=None):
    # type: (Dict[str, Any], Dict[str, Any], Optional[int]) -> Dict[str, Any]
    """One precision on one board: did the engine build, what was benchmarked, did the output
    check pass, did the bench run over `bench_timeout` s. `build` and `bench` are the play's
    registered results for that precision."""
    precision = build.get("item")
    build_log = build.get("stderr") or ""
    no_tensorrt = build.get("rc") != 0 and "TensorRT is not installed" in build_log
    if build.get("rc") == 0:
        built = "engine"
    elif no_tensorrt:
        built = "no TensorRT: benchmarked the bundle's ONNX in ONNX Runtime instead"
    else:
        built = "engine build failed (exit status %s): %s" % (
            build.get("rc"), build_log.strip().splitlines()[-1] if build_log.strip() else "")
    benched = not bench.get("skipped")
    return {"precision": precision, "build_exit_status": build.get("rc"), "built": built,
            "tensorrt_present": not no_tensorrt,
            "bench_exit_status": bench.get("rc") if benched else None,
            "bench_timeout_s": bench_timeout,
            "bench_timed_out": bool(benched and bench_timeout and bench.get("rc") == TIMED_OUT),
            "check_passed": (bench.get("rc") == 0) if benched else None}
