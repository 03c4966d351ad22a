"""The fleet inventory: the template `edgec fleet init` writes, and the checks `edgec fleet run`
makes before anything is copied to a board. Workstation only (PyYAML comes with ansible-core).

Board groups are named after the device profiles with `_` for `-` (`xavier_nx`,
`agx_xavier`): Ansible group names must be valid Python identifiers, it warns about dashes.
"""
import os
from typing import Any, Dict, List, Tuple

from edgec.errors import EdgecError
from edgec.fileio import atomic_write_text
from edgec.jetson.jetpacks import JETPACKS
from edgec.jetson.profiles import board_keys, fleet_group

# group -> edgec.jetson profile key, from the board table
BOARD_GROUPS = {fleet_group(key): key for key in board_keys()}
# JetPack group -> (image tag, the board's Python, L4T major), from the JetPack table
JETPACK_GROUPS = {j.group: (j.image, j.interpreter, j.l4t_major) for j in JETPACKS}
# The target Pythons of the controller edgec pins (setup.py: ansible-core 2.16; its developer
# guide, "testing compile": targets 2.7 and 3.6 to 3.12): one controller serves every JetPack
# line, JetPack 4.6's Python 3.6 to 7.2's 3.12. A newer ansible-core drops 3.6 targets.
ANSIBLE_TARGET_PYTHONS = ((3, 6), (3, 12))
MODES = ("container", "host")

TEMPLATE = """\
# edgec fleet inventory (Ansible YAML). `edgec fleet run --inventory THIS --bundle B -o results/`
#
# One group per board type and one per JetPack; every board is in exactly one of each.
# Board groups: %(boards)s (Ansible group names cannot hold dashes).
# JetPack groups: %(jetpacks)s.
# The preflight checks each board's device tree and /etc/nv_tegra_release against its groups.
#
# SSH: key-based only; never put passwords in this file. Put your public key on every board
# (ssh-copy-id user@board) and record each board's host key on this workstation before the first
# run, so that host keys are checked:  ssh-keyscan -H 192.168.1.21 >> ~/.ssh/known_hosts
# (compare the fingerprints with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the board).
#
# mode: host       runs the board's installed edgec (edgec_command)
#       container  runs the edgec image (edgec_image) with `docker run --runtime nvidia`;
#                  when the image is missing, `--image edgec-jp46.tar` is copied and loaded.
all:
  vars:
    mode: container
    ansible_user: jetson
    ansible_ssh_private_key_file: ~/.ssh/id_ed25519
    edgec_command: edgec            # host mode: how edgec is run on the board
    edgec_workdir: ~/edgec-fleet    # where the bundle, engines and results live on the board
    edgec_jetson_root: /            # where the board's /proc/device-tree and /etc are
    edgec_min_free_mib: 2048
  children:
    nano:
      hosts:
        nano-01:
          ansible_host: 192.168.1.21
    tx2:
      hosts:
        tx2-01:
          ansible_host: 192.168.1.22
    xavier_nx:
      hosts:
        xnx-01:
          ansible_host: 192.168.1.23
          mode: host
    agx_xavier:
      hosts:
        agx-01:
          ansible_host: 192.168.1.24
    jp46:
      vars:
        edgec_image: "edgec:jp46"
        ansible_python_interpreter: /usr/bin/python3.6
      hosts:
        nano-01:
        tx2-01:
    jp51:
      vars:
        edgec_image: "edgec:jp51"
        ansible_python_interpreter: /usr/bin/python3.8
      hosts:
        xnx-01:
        agx-01:
"""


def write_template(path):
    # type: (str) -> Dict[str, Any]
    if os.path.exists(path):
        raise EdgecError("%s exists; edgec fleet init does not overwrite an inventory (remove it "
                         "or give another -o)" % path)
    atomic_write_text(path, TEMPLATE % {
        "boards": ", ".join(BOARD_GROUPS),
        "jetpacks": ", ".join("%s (JetPack %s, L4T R%s, TensorRT %s, Python %s)"
                              % (j.group, j.version, j.l4t, j.tensorrt, j.python)
                              for j in JETPACKS)})
    return {"inventory": path, "board_groups": sorted(BOARD_GROUPS),
            "jetpack_groups": sorted(JETPACK_GROUPS), "modes": list(MODES)}


def _loader(path):
    """A safe YAML loader that refuses duplicate keys: YAML keeps the last one silently, which
    would drop a board that was listed twice."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        seen = {}  # type: Dict[Any, int]
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise EdgecError("inventory %s: %r is listed twice in the same mapping (lines %d "
                                 "and %d); a host must appear once per group"
                                 % (path, key, seen[key] + 1, key_node.start_mark.line + 1))
            seen[key] = key_node.start_mark.line
        return loader.construct_mapping(node, deep=deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return Loader


def _mapping(value, path, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EdgecError("inventory %s: %s must be a mapping, not %s"
                         % (path, where, type(value).__name__))
    return value


def load_inventory(path):
    # type: (str) -> Dict[str, Any]
    """The inventory's hosts with their board group, JetPack group and merged variables
    (all.vars < JetPack group vars < board group vars < host vars, as Ansible merges them),
    or an EdgecError naming the file and the host."""
    import yaml

    try:
        with open(path) as handle:
            data = yaml.load(handle, Loader=_loader(path))
    except (IOError, OSError) as exc:
        raise EdgecError("cannot read inventory %s: %s" % (path, exc.strerror or exc))
    except yaml.YAMLError as exc:
        raise EdgecError("inventory %s is not valid YAML: %s" % (path, exc))
    top = _mapping(data, path, "the file")
    if set(top) != {"all"}:
        raise EdgecError("inventory %s: the top level must be `all:` alone (found %s)"
                         % (path, ", ".join(sorted(map(str, top))) or "nothing"))
    everything = _mapping(top["all"], path, "all")
    unknown = set(everything) - {"vars", "children", "hosts"}
    if unknown:
        raise EdgecError("inventory %s: all: has unknown keys %s" % (path, sorted(unknown)))
    if _mapping(everything.get("hosts"), path, "all.hosts"):
        raise EdgecError("inventory %s: hosts directly under all: have no board group; put each "
                         "host under one of %s" % (path, ", ".join(sorted(BOARD_GROUPS))))
    common = _mapping(everything.get("vars"), path, "all.vars")
    hosts = {}  # type: Dict[str, Dict[str, Any]]
    host_vars = {}  # type: Dict[str, Dict[str, Any]]
    group_vars = {}  # type: Dict[str, Dict[str, Any]]
    for group, body in sorted(_mapping(everything.get("children"), path, "all.children").items(),
                              key=lambda kv: str(kv[0])):
        body = _mapping(body, path, "group %s" % group)
        members = _mapping(body.get("hosts"), path, "group %s hosts" % group)
        if group not in BOARD_GROUPS and group not in JETPACK_GROUPS:
            raise EdgecError("inventory %s: unknown group %r (hosts: %s); board groups are %s and "
                             "JetPack groups %s" % (path, group, ", ".join(sorted(members))
                                                    or "none", ", ".join(sorted(BOARD_GROUPS)),
                                                    ", ".join(sorted(JETPACK_GROUPS))))
        if body.get("children"):
            raise EdgecError("inventory %s: group %s has children; board and JetPack groups hold "
                             "hosts only" % (path, group))
        group_vars[group] = _mapping(body.get("vars"), path, "group %s vars" % group)
        kind = "board" if group in BOARD_GROUPS else "jetpack"
        for host, variables in members.items():
            entry = hosts.setdefault(str(host), {"board": None, "jetpack": None})
            if entry[kind] is not None:
                raise EdgecError("inventory %s: host %s is in two %s groups, %s and %s; a board "
                                 "is one %s" % (path, host, kind, entry[kind], group,
                                                "type" if kind == "board" else "JetPack"))
            entry[kind] = group
            if variables:
                host_vars.setdefault(str(host), {}).update(
                    _mapping(variables, path, "host %s" % host))
    if not hosts:
        raise EdgecError("inventory %s lists no hosts" % path)
    addresses = {}  # type: Dict[Tuple[str, str], str]
    for host, entry in sorted(hosts.items()):
        if entry["board"] is None:
            raise EdgecError("inventory %s: host %s is in no board group (one of %s)"
                             % (path, host, ", ".join(sorted(BOARD_GROUPS))))
        if entry["jetpack"] is None:
            raise EdgecError("inventory %s: host %s is in no JetPack group (one of %s)"
                             % (path, host, ", ".join(sorted(JETPACK_GROUPS))))
        merged = dict(common)
        merged.update(group_vars[entry["jetpack"]])
        merged.update(group_vars[entry["board"]])
        merged.update(host_vars.get(host, {}))
        mode = merged.get("mode", "container")
        if mode not in MODES:
            raise EdgecError("inventory %s: host %s has mode %r (container or host)"
                             % (path, host, mode))
        if mode == "container" and not merged.get("edgec_image"):
            raise EdgecError("inventory %s: host %s runs in container mode but no edgec_image is "
                             "set (the JetPack groups set it: edgec:jp46, edgec:jp51)"
                             % (path, host))
        address = (str(merged.get("ansible_host", host)), str(merged.get("ansible_port", 22)))
        if address in addresses:
            raise EdgecError("inventory %s: hosts %s and %s are the same board (%s port %s); "
                             "list each board once"
                             % ((path, addresses[address], host) + address))
        addresses[address] = host
        entry.update(mode=mode, profile=BOARD_GROUPS[entry["board"]], vars=merged)
    return {"path": path, "hosts": hosts}


def hosts_matching(inventory, limit):
    # type: (Dict[str, Any], List[str]) -> List[str]
    """The hosts `--limit` names (host or group names); all of them without --limit."""
    names = sorted(inventory["hosts"])
    if not limit:
        return names
    chosen = []  # type: List[str]
    for item in limit:
        matched = [h for h in names if h == item or item in (inventory["hosts"][h]["board"],
                                                             inventory["hosts"][h]["jetpack"])]
        if not matched:
            raise EdgecError("--limit %s matches no host or group of inventory %s"
                             % (item, inventory["path"]))
        chosen += [h for h in matched if h not in chosen]
    return sorted(chosen)
