"""`edgec fleet run`: validate the inventory, run the shipped playbook with ansible-playbook,
collect what came back per board and merge it with `edgec report`. Workstation only."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence  # noqa: F401

import edgec
from edgec.errors import EdgecError
from edgec.fileio import atomic_write_json, atomic_write_text, sha256_file
from edgec.fleet.inventory import hosts_matching, load_inventory
from edgec.fleet.reasons import missing_result, one_line, unreachable

ANSIBLE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ansible")
PLAYBOOK = os.path.join(ANSIBLE_DIR, "campaign.yml")
HOST_RECORD = "campaign.json"  # next to a board's results: the bundle they measure
CAMPAIGN_FORMAT = "edgec-fleet-campaign/1"


def find_ansible_playbook():
    # type: () -> str
    # Next to this Python first: `pip install 'edgec[fleet]'` puts it there, maybe not on PATH.
    sibling = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if os.access(sibling, os.X_OK):
        return sibling
    found = shutil.which("ansible-playbook")
    if not found:
        raise EdgecError("ansible-playbook is not installed here: pip install 'edgec[fleet]'")
    return found


def result_name(precision):
    # type: (str) -> str
    return "result-%s.json" % precision


def _host_done(out_dir, host, sha, precisions):
    # type: (str, str, str, Sequence[str]) -> bool
    """True when results/<host>/ already holds results of this bundle for every precision."""
    record_path = os.path.join(out_dir, host, HOST_RECORD)
    try:
        with open(record_path) as handle:
            record = json.load(handle)
    except (IOError, OSError, ValueError):
        return False
    return (record.get("bundle_sha256") == sha
            and set(precisions) <= set(record.get("precisions", []))
            and all(os.path.exists(os.path.join(out_dir, host, result_name(p)))
                    for p in precisions))


def _run_playbook(inventory_path, limit, extra_vars, check, outcomes_path, echo):
    # type: (str, List[str], Dict[str, Any], bool, str, Callable[[str], None]) -> Dict[str, Any]
    vars_path = os.path.join(os.path.dirname(outcomes_path), "extra-vars.json")
    with open(vars_path, "w") as handle:
        json.dump(extra_vars, handle)
    command = [find_ansible_playbook(), "-i", inventory_path, PLAYBOOK,
               "--limit", ",".join(limit), "-e", "@" + vars_path]
    if check:
        command.append("--check")
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(edgec.__file__)))
    env.update({
        "LC_ALL": "C.UTF-8",  # ansible-core refuses to start under a non-UTF-8 locale
        # The play's filters import edgec on this machine (the controller).
        "PYTHONPATH": os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p),
        "ANSIBLE_ROLES_PATH": os.path.join(ANSIBLE_DIR, "roles"),
        "ANSIBLE_FILTER_PLUGINS": os.path.join(ANSIBLE_DIR, "filter_plugins"),
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(ANSIBLE_DIR, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "edgec_outcomes",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "EDGEC_FLEET_OUTCOMES": outcomes_path,
    })
    started = time.time()
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=env, universal_newlines=True)
    except OSError as exc:
        raise EdgecError("cannot run %s: %s" % (command[0], exc))
    lines = []  # type: List[str]
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        echo(line.rstrip("\n"))
    rc = process.wait()
    outcomes = {}  # type: Dict[str, Any]
    if os.path.exists(outcomes_path):
        with open(outcomes_path) as handle:
            outcomes = json.load(handle)
    # 0 all ok, 2 some host failed, 4 some host unreachable: those are per-board outcomes.
    # Anything else (1, 5, 250) means the play itself did not run.
    if rc not in (0, 2, 4) or not outcomes:
        raise EdgecError("ansible-playbook failed (exit status %d) before the boards were "
                         "reached, inventory %s:\n%s" % (rc, inventory_path,
                                                         "".join(lines[-25:]).rstrip()))
    return {"exit_status": rc, "seconds": round(time.time() - started, 1), "hosts": outcomes,
            "output": "".join(lines)}


def _host_outcome(out_dir, host, outcome, precisions, check):
    # type: (str, str, Dict[str, Any], Sequence[str], bool) -> Dict[str, Any]
    stats = outcome.get("stats", {})
    if outcome.get("stopped") == "unreachable":
        code, reason = unreachable(outcome.get("message"))
        return {"status": "unreachable", "reason_code": code, "reason": reason,
                "stats": stats}
    if outcome.get("stopped") == "failed":
        message = outcome.get("message", "")
        prefix = "preflight failed: "  # how the play's preflight failures start
        if message.startswith(prefix):
            return {"status": "preflight failed", "reason": message[len(prefix):],
                    "stats": stats}
        return {"status": "failed", "reason": "task %r failed: %s"
                % (outcome.get("task"), one_line(message)), "stats": stats}
    if check:
        return {"status": "checked", "reason": "--check: nothing was changed", "stats": stats}
    folder = os.path.join(out_dir, host)
    results, missing = [], []
    for precision in precisions:
        path = os.path.join(folder, result_name(precision))
        if os.path.exists(path):
            results.append(path)
            continue
        outcome_path = os.path.join(folder, "outcome-%s.json" % precision)
        outcome_record = None
        if os.path.exists(outcome_path):
            with open(outcome_path) as handle:
                outcome_record = json.load(handle)
        missing.append(missing_result(precision, outcome_record,
                                      os.path.join(folder, "bench-%s.log" % precision)))
    record = {"status": "ok" if not missing else "no result", "results": results,
              "stats": stats}
    if missing:
        record["reason"] = "no result for " + "; ".join(missing)
    return record


def _boards_section(hosts):
    # type: (Dict[str, Dict[str, Any]]) -> str
    lines = ["", "## Boards", "", "| host | board | mode | status | why |", "|---|---|---|---|---|"]
    for host, record in sorted(hosts.items()):
        lines.append("| %s | %s | %s | %s | %s |" % (host, record["board"], record["mode"],
                                                     record["status"],
                                                     one_line(record.get("reason"))))
    return "\n".join(lines) + "\n"


def run_campaign(inventory_path, bundle_path, out_dir, image_path=None, precisions=("mix",),
                 limit=(), check=False, echo=None):
    # type: (str, str, str, Optional[str], Sequence[str], Sequence[str], bool, Optional[Callable[[str], None]]) -> Dict[str, Any]  # noqa: E501
    """The campaign's record: per host its status (ok, skipped, unreachable, preflight failed,
    failed, no result, checked) and why, the result files, the merged report."""
    echo = echo or (lambda line: None)
    started = time.time()
    inventory = load_inventory(inventory_path)  # before anything is copied anywhere
    for path, what in ((bundle_path, "bundle"), (image_path, "image tarball")):
        if path is not None and not os.path.isfile(path):
            raise EdgecError("%s %s does not exist" % (what, path))
    targets = hosts_matching(inventory, list(limit))
    sha = sha256_file(bundle_path)
    out_dir = os.path.abspath(out_dir)
    skipped = [h for h in targets if _host_done(out_dir, h, sha, precisions)]
    to_run = [h for h in targets if h not in skipped]
    hosts = {}  # type: Dict[str, Dict[str, Any]]
    for host in skipped:
        hosts[host] = {"status": "skipped", "reason": "results for this bundle already in %s"
                       % os.path.join(out_dir, host),
                       "results": [os.path.join(out_dir, host, result_name(p))
                                   for p in precisions]}
    ansible = None  # type: Optional[Dict[str, Any]]
    if to_run:
        scratch = tempfile.mkdtemp(prefix="edgec-fleet-")
        try:
            ansible = _run_playbook(
                os.path.abspath(inventory_path), to_run,
                {"edgec_bundle": os.path.abspath(bundle_path), "edgec_bundle_sha256": sha,
                 "edgec_precisions": list(precisions), "edgec_results": out_dir,
                 "edgec_image_tarball": os.path.abspath(image_path) if image_path else ""},
                check, os.path.join(scratch, "outcomes.json"), echo)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for host in to_run:
            outcome = ansible["hosts"].get(host)
            if outcome is None:
                hosts[host] = {"status": "not run", "reason": "ansible-playbook did not reach "
                               "this host (see its output)"}
                continue
            hosts[host] = _host_outcome(out_dir, host, outcome, precisions, check)
            if hosts[host]["status"] == "ok":
                atomic_write_json(os.path.join(out_dir, host, HOST_RECORD),
                                  {"format": CAMPAIGN_FORMAT, "bundle": bundle_path,
                                   "bundle_sha256": sha, "precisions": list(precisions),
                                   "mode": inventory["hosts"][host]["mode"],
                                   "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    for host, record in hosts.items():
        entry = inventory["hosts"][host]
        record.update(board=entry["board"], mode=entry["mode"])
    report = None
    result_files = sorted(p for r in hosts.values() for p in r.get("results", []))
    if not check:
        if ansible is not None:
            atomic_write_text(os.path.join(out_dir, "ansible.log"), ansible["output"])
        if result_files:
            from edgec.pipeline.report import markdown, write_report

            boards = dict((path, host) for host, r in hosts.items()
                          for path in r.get("results", []))
            summary = write_report(result_files, os.path.join(out_dir, "report"),
                                   hosts=boards)
            atomic_write_text(summary["files"]["markdown"],
                              markdown(summary["tables"]) + _boards_section(hosts))
            report = {"files": summary["files"], "results": summary["results"]}
    record = {"format": CAMPAIGN_FORMAT, "inventory": inventory_path, "bundle": bundle_path,
              "bundle_sha256": sha, "precisions": list(precisions), "check": check,
              "hosts": hosts, "skipped": sorted(skipped),
              "new_results": sum(len(r.get("results", [])) for h, r in hosts.items()
                                 if h not in skipped),
              "ansible": None if ansible is None else {
                  "exit_status": ansible["exit_status"], "seconds": ansible["seconds"],
                  "changed": sum(o.get("stats", {}).get("changed", 0)
                                 for o in ansible["hosts"].values())},
              "report": report, "seconds": round(time.time() - started, 1)}
    if not check:
        atomic_write_json(os.path.join(out_dir, HOST_RECORD), record)
    return record
