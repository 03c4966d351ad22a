"""`edgec fleet k8s`: one Job per board of the inventory `edgec fleet run` reads, validated
offline against the Kubernetes schemas (kubernetes-validate bundles them)."""
import json
import os
import textwrap

import kubernetes_validate  # the dev extra; a hard import so that a missing one fails, not skips
import pytest
import yaml
from paths import REPO

from edgec.fileio import sha256_file
from edgec.fleet import inventory as inv
from edgec.fleet.k8s import write_jobs

BUNDLE = os.path.join(REPO, "edgec", "data", "selftest", "bundle.tar.gz")
K8S_VERSION = "1.30"  # k3s of JetPack-era clusters; Job fields used here are all GA before it


def _template(tmp_path):
    path = str(tmp_path / "inv.yml")
    inv.write_template(path)
    return path


def _load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def _mounts(pod):
    volumes = {v["name"]: v for v in pod["volumes"]}
    out = {}
    for mount in pod["containers"][0]["volumeMounts"]:
        volume = volumes[mount["name"]]
        source = volume["hostPath"]["path"] if "hostPath" in volume else "emptyDir"
        out[mount["mountPath"]] = (source, mount.get("readOnly", False))
    return out


def test_one_valid_job_per_board(tmp_path, run_cli):
    path = _template(tmp_path)
    out = tmp_path / "k8s"
    result = run_cli("fleet", "k8s", "--inventory", path, "--bundle", BUNDLE, "--precision",
                     "mix", "--precision", "fp16", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    sha = sha256_file(BUNDLE)
    assert sorted(record["jobs"]) == ["agx-01", "nano-01", "tx2-01", "xnx-01"]
    kustomization = _load(str(out / "kustomization.yaml"))
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["resources"] == ["job-agx-01.yaml", "job-nano-01.yaml",
                                          "job-tx2-01.yaml", "job-xnx-01.yaml"]
    assert sorted(os.listdir(str(out))) == sorted(kustomization["resources"]
                                                  + ["kustomization.yaml"])
    expected = {"nano-01": ("nano", "edgec:jp46"), "tx2-01": ("tx2", "edgec:jp46"),
                "xnx-01": ("xavier-nx", "edgec:jp51"), "agx-01": ("agx-xavier", "edgec:jp51")}
    for host, (board, image) in expected.items():
        job = _load(str(out / ("job-%s.yaml" % host)))
        # Raises ValidationError on any schema violation; strict refuses unknown fields too.
        kubernetes_validate.validate(job, K8S_VERSION, strict=True)
        assert job["kind"] == "Job" and job["metadata"]["name"] == "edgec-" + host
        assert job["metadata"]["namespace"] == "edgec"
        assert job["metadata"]["annotations"]["edgec.io/bundle-sha256"] == sha
        spec = job["spec"]
        assert spec["backoffLimit"] == 0 and spec["ttlSecondsAfterFinished"] > 0
        pod = spec["template"]["spec"]
        assert pod["nodeSelector"] == {"edgec.io/board": board}
        assert pod["runtimeClassName"] == "nvidia" and pod["restartPolicy"] == "Never"
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 1000  # Dockerfile.l4t: USER 1000
        container = pod["containers"][0]
        assert container["image"] == image
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert {"name": "EDGEC_JETSON_ROOT", "value": "/host"} in container["env"]
        assert _mounts(pod) == {
            "/data/bundle.tar.gz": ("/var/lib/edgec/bundles/%s.tar.gz" % sha, True),
            "/host/proc/device-tree": ("/proc/device-tree", True),
            "/host/etc/nv_tegra_release": ("/etc/nv_tegra_release", True),
            "/usr/bin/tegrastats": ("/usr/bin/tegrastats", True),
            "/results": ("/var/lib/edgec/results", False),
            "/scratch": ("emptyDir", False)}
        script = container["command"][2]
        assert container["command"][:2] == ["/bin/sh", "-c"]
        assert script.startswith("set -eu\n")
        lines = script.splitlines()
        assert lines.index("edgec selftest --json -o /results/%s/selftest.json" % host) \
            < lines.index("edgec build --bundle /data/bundle.tar.gz --precision mix "
                          "-o /scratch/build")
        for precision in ("mix", "fp16"):
            assert ("edgec bench /scratch/build/model.%s.engine --reference "
                    "/scratch/build/reference.npz --precision %s -o /results/%s/result-%s.json"
                    % (precision, precision, host, precision)) in lines
        assert record["jobs"][host]["image"] == image


def test_strict_validation_catches_a_bad_job(tmp_path):
    """The validator really checks: a misspelt field and a wrong type are refused."""
    out = str(tmp_path / "k8s")
    write_jobs(_template(tmp_path), BUNDLE, out)
    job = _load(os.path.join(out, "job-nano-01.yaml"))
    job["spec"]["backoffLimit"] = "none"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, K8S_VERSION, strict=True)
    job = _load(os.path.join(out, "job-nano-01.yaml"))
    job["spec"]["template"]["spec"]["nodeSelectors"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, K8S_VERSION, strict=True)


def test_hostname_root_and_image_from_the_inventory(tmp_path):
    path = str(tmp_path / "inv.yml")
    with open(path, "w") as handle:
        handle.write(textwrap.dedent("""\
            all:
              vars: {edgec_jetson_root: /srv/board/}
              children:
                nano:
                  hosts:
                    Nano_07: {ansible_host: 10.0.0.7, k8s_node: jetson-nano-07}
                jp46:
                  vars: {edgec_image: "registry.local/edgec:jp46-r1"}
                  hosts: {Nano_07: }
            """))
    record = write_jobs(path, BUNDLE, str(tmp_path / "k8s"), namespace="bench")
    row = record["jobs"]["Nano_07"]
    assert row["job"] == "edgec-nano-07" and row["image"] == "registry.local/edgec:jp46-r1"
    job = _load(row["file"])
    kubernetes_validate.validate(job, K8S_VERSION, strict=True)
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"edgec.io/board": "nano",
                                   "kubernetes.io/hostname": "jetson-nano-07"}
    assert _mounts(pod)["/host/proc/device-tree"] == ("/srv/board/proc/device-tree", True)
    assert job["metadata"]["namespace"] == "bench"
    assert "/results/Nano_07/result-mix.json" in pod["containers"][0]["command"][2]


def test_bad_inventory_is_refused_before_anything_is_written(tmp_path, run_cli):
    path = str(tmp_path / "bad.yml")
    with open(path, "w") as handle:
        handle.write("all:\n  children:\n    orin:\n      hosts:\n        orin-01:\n")
    out = tmp_path / "k8s"
    result = run_cli("fleet", "k8s", "--inventory", path, "--bundle", BUNDLE, "-o", out)
    assert result.exit_code == 2
    assert "unknown group 'orin'" in result.output and path in result.output
    assert not out.exists()
    # The same message `edgec fleet run` gives: the one loader.
    assert "unknown group 'orin'" in run_cli("fleet", "run", "--inventory", path, "--bundle",
                                             BUNDLE, "-o", tmp_path / "r").output
    good = _template(tmp_path)
    missing = run_cli("fleet", "k8s", "--inventory", good, "--bundle",
                      tmp_path / "none.tar.gz", "-o", out)
    assert missing.exit_code == 2 and "does not exist" in missing.output
    bad_namespace = run_cli("fleet", "k8s", "--inventory", good, "--bundle", BUNDLE,
                            "--namespace", "Edge_C", "-o", out)
    assert bad_namespace.exit_code == 2 and "namespace" in bad_namespace.output
    assert not out.exists()


def test_output_is_deterministic(tmp_path):
    path = _template(tmp_path)
    first, second = str(tmp_path / "a"), str(tmp_path / "b")
    write_jobs(path, BUNDLE, first, ["int8", "mix"])
    write_jobs(path, BUNDLE, second, ["int8", "mix"])
    names = sorted(os.listdir(first))
    assert names == sorted(os.listdir(second)) and len(names) == 5
    for name in names:
        with open(os.path.join(first, name), "rb") as a, open(os.path.join(second, name),
                                                              "rb") as b:
            assert a.read() == b.read(), name
    text = open(os.path.join(first, "job-nano-01.yaml")).read()
    assert text.index("apiVersion:") < text.index("kind:") < text.index("metadata:")  # sorted
    assert "&id" not in text and "*id" not in text  # no YAML anchors or aliases
