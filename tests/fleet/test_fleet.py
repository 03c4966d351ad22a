"""`edgec fleet`: inventory checks, the preflight's judgement, and a real campaign over SSH to
stand-in Jetsons (sshd on loopback addresses, fixture device trees, stand-in tegrastats and
docker) running the real edgec from this repository."""
import csv
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
import time

import pytest
from paths import REPO

from edgec.errors import EdgecError
from edgec.fleet import inventory as inv
from edgec.fleet.preflight import judge_board

BUNDLE = os.path.join(REPO, "edgec", "data", "selftest", "bundle.tar.gz")
SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
R32 = b"# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64, DATE: x\n"
R35 = b"# R35 (release), REVISION: 2.1, GCID: 32413640, BOARD: t186ref, EABI: aarch64, DATE: x\n"
BOARDS = {  # profile -> (compatible, model, release), as in tests/test_jetson.py
    "nano": (b"nvidia,p3450-0000\0nvidia,jetson-nano\0nvidia,tegra210\0",
             b"NVIDIA Jetson Nano Developer Kit\0", R32),
    "tx2": (b"nvidia,p2771-0000-500\0nvidia,p2771-0000\0nvidia,tegra186\0", b"quill\0", R32),
    "xavier-nx": (b"nvidia,p3509-0000+p3668-0001\0nvidia,jetson-xavier-nx\0nvidia,tegra194\0",
                  b"NVIDIA Jetson Xavier NX Developer Kit\0", R35),
}
TEGRASTATS_LINE = ("RAM 4412/7772MB (lfb 237x4MB) SWAP 139/3886MB (cached 2MB) CPU [9%@1190,"
                   "6%@1190] EMC_FREQ 10%@1600 GR3D_FREQ 62%@306 AO@41.5C GPU@43C "
                   "VDD_IN 4067/4067 VDD_CPU_GPU_CV 738/738 VDD_SOC 1353/1353")


def write(path, text, executable=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(text, bytes) else "w") as handle:
        handle.write(text)
    if executable:
        os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
    return path


def board_root(root, profile):
    compatible, model, release = BOARDS[profile]
    write(os.path.join(root, "proc", "device-tree", "compatible"), compatible)
    write(os.path.join(root, "proc", "device-tree", "model"), model)
    write(os.path.join(root, "etc", "nv_tegra_release"), release)
    return root


# -- Inventory ------------------------------------------------------------------------------

def test_template_is_a_valid_inventory(tmp_path):
    path = str(tmp_path / "inv.yml")
    record = inv.write_template(path)
    # every board of the board table, Orin's included (edgec.jetson.profiles)
    assert record["board_groups"] == sorted(["agx_xavier", "nano", "tx2", "xavier_nx",
                                             "orin_nano_4gb", "orin_nano", "orin_nano_super",
                                             "orin_nx_8gb", "orin_nx", "orin_nx_super",
                                             "agx_orin_32gb", "agx_orin"])
    assert record["jetpack_groups"] == ["jp46", "jp51", "jp60", "jp62", "jp72"]
    with open(path) as handle:
        assert "jp62 (JetPack 6.2, L4T R36.4, TensorRT 10.3.0, Python 3.10)" in handle.read()
    loaded = inv.load_inventory(path)
    assert {h: (e["board"], e["jetpack"], e["mode"]) for h, e in loaded["hosts"].items()} == {
        "nano-01": ("nano", "jp46", "container"), "tx2-01": ("tx2", "jp46", "container"),
        "xnx-01": ("xavier_nx", "jp51", "host"), "agx-01": ("agx_xavier", "jp51", "container")}
    assert loaded["hosts"]["nano-01"]["vars"]["edgec_image"] == "edgec:jp46"
    assert loaded["hosts"]["agx-01"]["vars"]["ansible_python_interpreter"].endswith("3.8")
    text = open(path).read()
    assert "known_hosts" in text and "password" in text.lower()  # says: never passwords
    assert "ansible_password" not in text and "ansible_become_pass" not in text
    with pytest.raises(EdgecError, match="does not overwrite"):
        inv.write_template(path)


def _inventory(tmp_path, body):
    path = str(tmp_path / "bad.yml")
    write(path, textwrap.dedent(body))
    return path


def test_unknown_board_group_names_the_file_and_host(tmp_path):
    path = _inventory(tmp_path, """\
        all:
          children:
            orin:
              hosts:
                orin-01: {ansible_host: 10.0.0.5}
        """)
    with pytest.raises(EdgecError) as err:
        inv.load_inventory(path)
    assert path in err.value.message and "orin-01" in err.value.message
    assert "unknown group 'orin'" in err.value.message


def test_duplicate_host_is_refused(tmp_path):
    path = _inventory(tmp_path, """\
        all:
          children:
            nano:
              hosts:
                nano-01: {ansible_host: 10.0.0.5}
                nano-01: {ansible_host: 10.0.0.6}
            jp46: {hosts: {nano-01: }}
        """)
    with pytest.raises(EdgecError) as err:
        inv.load_inventory(path)
    assert path in err.value.message and "'nano-01' is listed twice" in err.value.message
    same_address = _inventory(tmp_path, """\
        all:
          children:
            nano:
              hosts:
                a: {ansible_host: 10.0.0.5, mode: host}
                b: {ansible_host: 10.0.0.5, mode: host}
            jp46: {hosts: {a: , b: }}
        """)
    with pytest.raises(EdgecError, match="hosts a and b are the same board"):
        inv.load_inventory(same_address)


def test_host_in_two_board_groups_is_refused(tmp_path):
    path = _inventory(tmp_path, """\
        all:
          children:
            nano: {hosts: {board-7: }}
            tx2: {hosts: {board-7: }}
            jp46: {hosts: {board-7: }}
        """)
    with pytest.raises(EdgecError) as err:
        inv.load_inventory(path)
    assert path in err.value.message
    assert "board-7 is in two board groups, nano and tx2" in err.value.message


def test_bad_inventory_stops_the_cli_before_anything_runs(tmp_path, run_cli):
    path = _inventory(tmp_path, "all:\n  children:\n    orin: {hosts: {o1: }}\n")
    out = tmp_path / "results"
    result = CliRunnerResult(run_cli, "fleet", "run", "--inventory", path, "--bundle", BUNDLE,
                             "-o", str(out))
    assert result.exit_code == 2 and "unknown group 'orin'" in result.output
    assert "Traceback" not in result.output and not out.exists()


def CliRunnerResult(run_cli, *args):
    try:
        return run_cli(*args)
    except SystemExit as exc:  # pragma: no cover - click's runner catches it
        raise AssertionError("exited %s" % exc)


def test_preflight_names_host_and_both_models_when_the_tree_disagrees():
    compatible, model, release = BOARDS["xavier-nx"]
    verdict = judge_board("edge-3", ["nano", "jp46"], "/", compatible, model, release,
                          str(50 * 1024 * 1024), 2048)
    board, jetpack = verdict["problems"]
    assert board == ("board: edge-3 is in group nano (Jetson Nano) but its device tree says "
                     "'NVIDIA Jetson Xavier NX Developer Kit' (Jetson Xavier NX)")
    assert jetpack.startswith("jetpack: edge-3 is in group jp46 (L4T R32)") and "35.2.1" in jetpack
    ok = judge_board("n1", ["nano", "jp46"], "/", *BOARDS["nano"], free_kib="4096000",
                     min_free_mib=2048)
    assert ok["problems"] == [] and ok["board"]["profile"] == "nano"
    full = judge_board("n1", ["nano", "jp46"], "/", *BOARDS["nano"], free_kib="1024",
                       min_free_mib=2048)
    assert full["problems"] == ["disk: 1 MiB free on n1, the campaign needs 2048 MiB"]
    missing = judge_board("n1", ["nano", "jp46"], "/r", None, None, None, "4096000", 1)
    assert missing["problems"] == ["board: n1 is in group nano (Jetson Nano) but "
                                   "/r/proc/device-tree/compatible is missing: not an NVIDIA "
                                   "Jetson"]


# -- A real campaign over SSH ---------------------------------------------------------------

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
needs_ssh = pytest.mark.skipif(
    SSHD is None or not (os.access(ANSIBLE_PLAYBOOK, os.X_OK) or shutil.which("ansible-playbook"))
    or shutil.which("ssh-keygen") is None,
    reason="the fleet campaign test needs sshd and ssh-keygen (apt-get install openssh-server) "
           "and ansible-playbook (pip install 'edgec[fleet]'); .ci/run installs them")

STAND_IN_DOCKER = r'''#!%(python)s
"""Stand-in docker: checks the arguments a Jetson run needs, records them, and runs edgec with
the container paths mapped onto the mounted host paths."""
import json, os, subprocess, sys
state = %(state)r
args = sys.argv[1:]
with open(os.path.join(state, "calls.jsonl"), "a") as log:
    log.write(json.dumps(args) + "\n")
images = os.path.join(state, "images")
if args[:2] == ["image", "inspect"]:
    sys.exit(0 if os.path.exists(images) and args[2] in open(images).read().split() else 1)
if args[:2] == ["load", "-i"]:
    tag = open(args[2]).read().strip()
    open(images, "a").write(tag + "\n")
    print("Loaded image: " + tag)
    sys.exit(0)
assert args[0] == "run", args
i, mounts, env = 1, [], {}
while args[i].startswith("-"):
    flag = args[i]
    if flag == "--rm":
        i += 1
        continue
    value = args[i + 1]
    if flag == "-v":
        src, dst = value.split(":")[:2]
        mounts.append((src, dst))
    elif flag == "-e":
        env.update([value.split("=", 1)])
    elif flag == "--runtime" and value != "nvidia":
        sys.exit("stand-in docker: --runtime nvidia expected, got " + value)
    i += 2
image, command = args[i], args[i + 1:]
if "--runtime" not in args:
    sys.exit("stand-in docker: no --runtime nvidia")
dsts = dict((d, s) for s, d in mounts)
for needed in ("/host/proc/device-tree", "/host/etc/nv_tegra_release", "/results"):
    if needed not in dsts:
        sys.exit("stand-in docker: missing mount " + needed)
if env.get("EDGEC_JETSON_ROOT") != "/host":
    sys.exit("stand-in docker: EDGEC_JETSON_ROOT=/host expected")
if image not in open(images).read().split():
    sys.exit("stand-in docker: image %%s not loaded" %% image)
root = os.path.join(state, "container")
for dst, src in dsts.items():
    link = root + dst
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if not os.path.islink(link):
        os.symlink(src, link)
def mapped(arg):
    for dst in sorted(dsts, key=len, reverse=True):
        if arg == dst or arg.startswith(dst + "/"):
            return dsts[dst] + arg[len(dst):]
    return arg
child_env = dict(os.environ, EDGEC_JETSON_ROOT=root + "/host", PYTHONPATH=%(repo)r)
sys.exit(subprocess.call([sys.executable, "-m", "edgec.cli"] + [mapped(a) for a in command],
                         env=child_env))
'''


def free_port(address):
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def stand_in_fleet(tmp_path_factory):
    """Five sshd on 127.0.0.2-.6 with fixture boards (two Nanos: a fleet has many boards of a
    kind; agx-wrong's device tree says Xavier NX while the inventory says AGX Xavier), and one
    unreachable host."""
    base = str(tmp_path_factory.mktemp("fleet"))
    keys = os.path.join(base, "keys")
    os.makedirs(keys)
    subprocess.check_call(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                           os.path.join(keys, "client")])
    subprocess.check_call(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                           os.path.join(keys, "host")])
    shutil.copy(os.path.join(keys, "client.pub"), os.path.join(keys, "authorized_keys"))
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation folder
    host_pub = open(os.path.join(keys, "host.pub")).read().split()[:2]
    boards = [("nano-a", "127.0.0.2", "nano", "jp46", "host", "nano"),
              ("nano-b", "127.0.0.6", "nano", "jp46", "host", "nano"),
              ("nano-hang", "127.0.0.7", "nano", "jp46", "host", "nano"),
              ("tx2-a", "127.0.0.3", "tx2", "jp46", "container", "tx2"),
              ("xnx-a", "127.0.0.4", "xavier_nx", "jp51", "host", "xavier-nx"),
              ("agx-wrong", "127.0.0.5", "agx_xavier", "jp51", "host", "xavier-nx")]
    daemons, known_hosts, hosts = [], [], {}
    for name, address, group, jetpack, mode, tree in boards:
        port = free_port(address)
        config = write(os.path.join(base, "sshd-%s.conf" % name), textwrap.dedent("""\
            Port %d
            ListenAddress %s
            HostKey %s
            AuthorizedKeysFile %s
            PidFile %s
            UsePAM no
            StrictModes no
            PasswordAuthentication no
            PermitRootLogin prohibit-password
            Subsystem sftp internal-sftp
            """ % (port, address, os.path.join(keys, "host"),
                   os.path.join(keys, "authorized_keys"),
                   os.path.join(base, "sshd-%s.pid" % name))))
        daemons.append(subprocess.Popen([SSHD, "-D", "-e", "-f", config],
                                        stderr=open(os.path.join(base, name + ".sshd.log"), "w")))
        known_hosts.append("[%s]:%d %s %s" % (address, port, host_pub[0], host_pub[1]))
        board = os.path.join(base, "boards", name)
        bin_dir = os.path.join(board, "bin")
        write(os.path.join(bin_dir, "tegrastats"), '#!/bin/sh\nwhile true; do echo "%s"; '
              'sleep 0.05; done\n' % TEGRASTATS_LINE, executable=True)
        write(os.path.join(bin_dir, "nvpmodel"), '#!/bin/sh\nprintf "NV Power Mode: MAXN\\n0\\n"\n',
              executable=True)
        if mode == "container":
            state = os.path.join(board, "docker")
            os.makedirs(state)
            write(os.path.join(bin_dir, "docker"), STAND_IN_DOCKER % {
                "python": sys.executable, "state": state, "repo": REPO}, executable=True)
        hosts[name] = dict(address=address, port=port, group=group, jetpack=jetpack, mode=mode,
                           root=board_root(os.path.join(board, "root"), tree), bin=bin_dir,
                           work=os.path.join(board, "work"), extra={})
        if name == "nano-hang":  # its bench hangs: the campaign must stop it and go on
            hang = write(os.path.join(bin_dir, "edgec-hang"),
                         '#!/bin/sh\ncase "$1" in bench) exec sleep 600;; esac\n'
                         'exec %s -m edgec.cli "$@"\n' % sys.executable, executable=True)
            hosts[name]["extra"] = {"edgec_command": hang, "edgec_bench_timeout": 3}
    write(os.path.join(keys, "known_hosts"), "\n".join(known_hosts) + "\n")
    # Nothing listens on 127.0.0.9 at this port: connection refused, at once.
    hosts["agx-gone"] = dict(address="127.0.0.9", port=free_port("127.0.0.9"), group="agx_xavier",
                             jetpack="jp51", mode="host", root="/", bin="", work="/nonexistent")
    deadline = time.time() + 10
    for name, host in hosts.items():
        if name == "agx-gone":
            continue
        while True:  # bounded: sshd binds in milliseconds
            try:
                socket.create_connection((host["address"], host["port"]), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise AssertionError("sshd for %s did not start: %s" % (
                        name, open(os.path.join(base, name + ".sshd.log")).read()))
                time.sleep(0.05)
    yield {"base": base, "keys": keys, "hosts": hosts}
    for daemon in daemons:
        daemon.terminate()
        daemon.wait(timeout=10)


def write_test_inventory(fleet, path):
    keys = fleet["keys"]
    lines = ["all:", "  vars:",
             "    ansible_user: root",
             "    ansible_ssh_private_key_file: %s" % os.path.join(keys, "client"),
             # Host keys are checked, against the generated stand-ins' known_hosts.
             "    ansible_ssh_common_args: -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"
             " -o ConnectTimeout=5" % os.path.join(keys, "known_hosts"),
             # Shared connections, closed soon after the test (the default keeps them 60 s).
             "    ansible_ssh_args: -o ControlMaster=auto -o ControlPersist=5s",
             "    ansible_python_interpreter: %s" % sys.executable,
             "    edgec_command: %s -m edgec.cli" % sys.executable,
             "    edgec_environment: {PYTHONPATH: %s}" % REPO,
             "    edgec_min_free_mib: 1",
             "    edgec_async_poll: 1",
             "    edgec_bench_args: --duration 0.2 --warmup 0.05",
             "  children:"]
    groups = {}
    for name, host in sorted(fleet["hosts"].items()):
        groups.setdefault(host["group"], []).append(name)
        groups.setdefault(host["jetpack"], []).append(name)
    for group, names in sorted(groups.items()):
        lines.append("    %s:" % group)
        if group in inv.JETPACK_GROUPS:
            lines += ["      vars:", "        edgec_image: '%s'" % inv.JETPACK_GROUPS[group][0]]
        lines.append("      hosts:")
        for name in names:
            host = fleet["hosts"][name]
            if group in inv.BOARD_GROUPS:
                lines += ["        %s:" % name,
                          "          ansible_host: %s" % host["address"],
                          "          ansible_port: %d" % host["port"],
                          "          mode: %s" % host["mode"],
                          "          edgec_workdir: %s" % host["work"],
                          "          edgec_jetson_root: %s" % host["root"],
                          "          edgec_path_prefix: '%s'" % host["bin"],
                          "          edgec_tegrastats: %s" % os.path.join(host["bin"] or "/",
                                                                          "tegrastats")]
                lines += ["          %s: %s" % kv for kv in sorted(host.get("extra", {}).items())]
            else:
                lines.append("        %s:" % name)
    write(path, "\n".join(lines) + "\n")
    return path


@needs_ssh
def test_campaign_over_ssh(stand_in_fleet, tmp_path, run_cli):
    started = time.time()
    inventory = write_test_inventory(stand_in_fleet, str(tmp_path / "fleet.yml"))
    image = write(str(tmp_path / "edgec-jp46.tar"), "edgec:jp46\n")  # the stand-in loads tags
    out = str(tmp_path / "results")

    check = run_cli("fleet", "run", "--inventory", inventory, "--bundle", BUNDLE,
                    "--image", image, "--check", "-o", out, "--json")
    assert check.exit_code == 0, check.output
    checked = json.loads(check.output[check.output.index("{\n"):])
    assert not os.path.exists(out), "--check wrote results"
    assert checked["hosts"]["nano-a"]["status"] == "checked"
    assert checked["hosts"]["agx-gone"]["status"] == "unreachable"
    assert not os.path.exists(os.path.join(stand_in_fleet["hosts"]["nano-a"]["work"],
                                           "bundle.tar.gz"))

    first = run_cli("fleet", "run", "--inventory", inventory, "--bundle", BUNDLE,
                    "--image", image, "-o", out)
    print(first.output)
    first_seconds = time.time() - started
    assert first.exit_code == 0, first.output
    record = json.load(open(os.path.join(out, "campaign.json")))
    hosts = record["hosts"]
    for name, board in (("nano-a", "Jetson Nano"), ("nano-b", "Jetson Nano"),
                        ("tx2-a", "Jetson TX2"), ("xnx-a", "Jetson Xavier NX")):
        assert hosts[name]["status"] == "ok", (name, hosts[name])
        result = json.load(open(os.path.join(out, name, "result-mix.json")))
        assert result["device"]["name"] == board  # read through EDGEC_JETSON_ROOT on the board
        assert result["backend"]["backend"] == "onnxruntime" and result["check"]["passed"]
        outcome = json.load(open(os.path.join(out, name, "outcome-mix.json")))
        assert outcome["tensorrt_present"] is False and outcome["built"].startswith("no TensorRT")
        assert json.load(open(os.path.join(out, name, "selftest.json")))["passed"] is True
        assert os.path.exists(os.path.join(out, name, "build-mix.log"))
        assert json.load(open(os.path.join(out, name, "campaign.json")))["bundle_sha256"] == \
            record["bundle_sha256"]
    assert hosts["agx-gone"]["status"] == "unreachable"
    assert "127.0.0.9" in hosts["agx-gone"]["reason"]
    assert hosts["agx-gone"]["reason_code"] == "unreachable: connection refused"
    hung = hosts["nano-hang"]  # stopped after its 3 s limit; the other boards went on
    assert hung["status"] == "no result" and \
        "mix: timed out in bench after 3 s" in hung["reason"], hung
    wrong = hosts["agx-wrong"]
    assert wrong["status"] == "preflight failed"
    assert ("board: agx-wrong is in group agx_xavier (Jetson AGX Xavier) but its device tree "
            "says 'NVIDIA Jetson Xavier NX Developer Kit' (Jetson Xavier NX)") in wrong["reason"]
    assert record["new_results"] == 4
    report = open(os.path.join(out, "report", "report.md")).read()
    assert "2 boards]" in report  # the two Nanos: their median and spread, both kept
    rows = list(csv.DictReader(open(os.path.join(out, "report", "results.csv"))))
    assert sorted(r["board"] for r in rows if r["device"] == "Jetson Nano") == \
        ["nano-a", "nano-b"]
    for board in ("Jetson Nano", "Jetson TX2", "Jetson Xavier NX"):
        assert board in report
    assert "| agx-gone | agx_xavier | host | unreachable |" in report
    assert "| agx-wrong | agx_xavier | host | preflight failed | board: agx-wrong is in" in report
    # Container mode went through docker run with the Jetson mounts, after loading the tarball.
    calls = [json.loads(line) for line in open(os.path.join(
        stand_in_fleet["hosts"]["tx2-a"]["bin"], "..", "docker", "calls.jsonl"))]
    # --check only looked (inspect); the real run looked, loaded the tarball, then ran.
    assert [c[:2] for c in calls[:3]] == [["image", "inspect"], ["image", "inspect"],
                                          ["load", "-i"]]
    runs = [c for c in calls if c[0] == "run"]
    assert [r[r.index("edgec:jp46") + 1] for r in runs] == ["selftest", "build", "bench"]
    assert "--runtime" in runs[0] and runs[0][runs[0].index("--runtime") + 1] == "nvidia"
    assert any(a.endswith(":/host/proc/device-tree:ro") for a in runs[0])
    assert "EDGEC_JETSON_ROOT=/host" in runs[0]

    second = run_cli("fleet", "run", "--inventory", inventory, "--bundle", BUNDLE,
                     "--image", image, "-o", out, "--json")
    assert second.exit_code == 0, second.output
    again = json.loads(second.output[second.output.index("{\n"):])
    assert again["new_results"] == 0
    assert sorted(again["skipped"]) == ["nano-a", "nano-b", "tx2-a", "xnx-a"]
    assert again["hosts"]["agx-gone"]["status"] == "unreachable"  # tried again: no result yet
    # Only the board without a result (its bench timed out again) was worked on.
    assert again["ansible"]["changed"] == again["hosts"]["nano-hang"]["stats"]["changed"]
    assert "timed out in bench" in again["hosts"]["nano-hang"]["reason"]
    assert len(open(os.path.join(stand_in_fleet["hosts"]["tx2-a"]["bin"], "..", "docker",
                                 "calls.jsonl")).readlines()) == len(calls)  # tx2-a untouched
    total = time.time() - started
    print("campaign: first run %.1f s, whole test %.1f s" % (first_seconds, total))
    assert total < 180


def test_one_controller_serves_every_jetpack_line():
    """ansible-core 2.16 (the pinned controller) runs modules on Python 3.6 to 3.12: every
    JetPack group's interpreter is in that range, and the installed controller is a 2.16."""
    import ansible.release

    from edgec.jetson.jetpacks import JETPACKS

    low, high = inv.ANSIBLE_TARGET_PYTHONS
    for line in JETPACKS:
        version = tuple(int(part) for part in line.python.split("."))
        assert low <= version <= high, (line.group, line.python)
        assert inv.JETPACK_GROUPS[line.group][1] == "/usr/bin/python" + line.python
    assert ansible.release.__version__.startswith("2.16."), ansible.release.__version__
