"""`edgec check`: will this ONNX, build folder or bundle import on these boards' TensorRT?"""
from collections import OrderedDict
from typing import Any, Dict, List  # noqa: F401

import click

from edgec.commands.options import json_option
from edgec.commands.output import emit_json, say_on_stderr
from edgec.jetson.profiles import board_keys

MAX_NODES = 8  # per target and rule in the printout (--json has them all)
SHORT = {"imports": "ok", "imports, with warnings": "warn", "cannot import": "NO"}


@click.command()
@click.argument("path", type=click.Path())
@click.option("--target", "targets", multiple=True, type=click.Choice(board_keys()),
              help="A board to check for, on every JetPack line it runs (repeat). Default: "
                   "every board of the board table.")
@click.option("--rtx/--no-rtx", default=None,
              help="Also parse and build each file with TensorRT-RTX, a real NVIDIA importer "
                   "and builder that runs here (pip install 'edgec[rtx]'; default: when "
                   "installed). Its verdict is its own, never a Jetson's.")
@json_option
def check(path, targets, rtx, as_json):
    """Say, per board and JetPack line (its TensorRT) and per precision, whether PATH (an ONNX
    file, an edgec build folder or a bundle) imports, and name every node the board's ONNX
    parser would refuse: op, opset, reason and the rule's source (onnx-tensorrt's operators.md
    and changelog at the release tag). edgec's own rules too: INT8 on boards without it,
    external weights beside the file, memory, ConvTranspose scale axes. Exit 1 when some
    target cannot import."""
    from edgec.check.checker import check as run_check

    record = run_check(path, targets, say_on_stderr(as_json), rtx)
    if as_json:
        emit_json(record)
    else:
        print_check(record)
    if not record["ok"] or any(not r["built"] for r in record["rtx"] or []):
        raise SystemExit(1)


def print_check(record):
    # type: (Dict[str, Any]) -> None
    from edgec.tables import format_table

    rows = record["rows"]
    precisions = []  # type: List[Any]
    for row in rows:
        if row["precision"] not in precisions:
            precisions.append(row["precision"])
    cells = {}  # type: Dict[Any, Dict[Any, str]]
    for row in rows:
        key = (row["board"], row["jetpack"], row["tensorrt"])
        cells.setdefault(key, {})[row["precision"]] = SHORT[row["verdict"]]
    header = ["board", "JetPack", "TensorRT"] + [p or "file" for p in precisions]
    click.echo("%s: ok imports, warn imports with warnings, NO cannot import" % record["path"])
    click.echo(format_table(header, [list(key) + [cells[key].get(p, "-") for p in precisions]
                                     for key in cells]))
    # The same finding on several boards and TensorRT versions is printed once, listing them.
    groups = OrderedDict()  # type: Dict[Any, Dict[str, Any]]
    for row in rows:
        by_rule = OrderedDict()  # type: Dict[str, List[Dict[str, Any]]]
        for found in row["findings"]:
            by_rule.setdefault(found["rule"], []).append(found)
        for rule, findings in by_rule.items():
            nodes = tuple(f["node"] for f in findings if f["node"])
            key = (row["file"], rule, None if nodes else findings[0]["reason"], nodes)
            group = groups.setdefault(key, {"findings": findings, "versions": [],
                                            "boards": [], "precisions": []})
            for name, value in (("versions", row["tensorrt"]), ("boards", row["board"]),
                                ("precisions", row["precision"] or "as given")):
                if value not in group[name]:
                    group[name].append(value)
    for (name, rule, reason, nodes), group in groups.items():
        first = group["findings"][0]
        click.echo("%s %s (%s) on TensorRT %s (%s): %s [%s]" % (
            first["severity"], name, "/".join(group["precisions"]),
            ", ".join(group["versions"]), ", ".join(group["boards"]),
            reason or "%s, %d node%s" % (rule, len(nodes), "" if len(nodes) == 1 else "s"),
            first["source"]))
        for found in [f for f in group["findings"] if f["node"]][:MAX_NODES]:
            click.echo("  node %s (%s, opset %s): %s"
                       % (found["node"], found["op"], found["opset"], found["reason"]))
        if len(nodes) > MAX_NODES:
            click.echo("  ... and %d more (--json lists them)" % (len(nodes) - MAX_NODES))
    for built in record["rtx"] or []:
        if built["built"]:
            click.echo("%s: %s parsed in %.2f s, built in %.2f s, engine %.1f MB (%s)"
                       % (built["importer"], built["file"], built["parse_s"], built["build_s"],
                          built["engine_bytes"] / 1e6, built["api"]))
        else:
            click.echo("%s: %s %s:\n  %s" % (built["importer"], built["file"],
                                             "built nothing" if built["parsed"]
                                             else "does not parse",
                                             "\n  ".join(built["messages"][:10])))
    if record["rtx"] is None:
        click.echo("no real importer ran: %s" % record["rtx_skipped"])
