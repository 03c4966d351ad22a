"""`edgec fleet k8s`: one Kubernetes (k3s) Job per board of a fleet inventory, the container
mode of `edgec fleet run` as manifests. Workstation only (PyYAML comes with ansible-core).

Nothing is sent to a cluster and nothing is copied to a board: the bundle must be on each node
at `/var/lib/edgec/bundles/<sha256>.tar.gz` (a ConfigMap is limited to 1 MiB) and the results
folder `/var/lib/edgec/results` must exist there, writable by the image's user (uid 1000):

    sudo install -d -o 1000 -g 1000 /var/lib/edgec/results
    sudo install -D -m 0644 bundle.tar.gz /var/lib/edgec/bundles/<sha256>.tar.gz
    kubectl label node <node> edgec.io/board=<board>     # a board table key: nano, orin-nano, ...
    kubectl apply -k k8s/                                 # the namespace must exist
"""
import os
import re
import shlex
from typing import Any, Dict, Sequence  # noqa: F401

from edgec.errors import EdgecError
from edgec.fileio import atomic_write_text, sha256_file
from edgec.fleet.inventory import JETPACK_GROUPS, load_inventory

K8S_FORMAT = "edgec-fleet-k8s/1"
BOARD_LABEL = "edgec.io/board"
HOSTNAME_LABEL = "kubernetes.io/hostname"
BUNDLES_DIR = "/var/lib/edgec/bundles"  # on every node: <sha256>.tar.gz
RESULTS_DIR = "/var/lib/edgec/results"  # on every node: <host>/result-<precision>.json
IMAGE_UID = 1000  # Dockerfile.l4t: USER 1000
VIDEO_GID = 44  # the `video` group of L4T (Ubuntu); `docker run --group-add video` in fleet run
TTL_SECONDS = 7 * 24 * 3600  # finished Jobs (and their logs) stay a week
RUNTIME_CLASS = "nvidia"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # DNS-1123 label
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _dumper():
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):
            return True  # no &id001 anchors: every manifest reads on its own

    def text(dumper, value):
        style = "|" if "\n" in value else None  # the job's script stays readable
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def to_yaml(document):
    # type: (Dict[str, Any]) -> str
    import yaml

    return yaml.dump(document, Dumper=_dumper(), sort_keys=True, default_flow_style=False,
                     allow_unicode=False, width=100)


def job_name(host):
    # type: (str) -> str
    name = re.sub(r"[^a-z0-9-]+", "-", host.lower()).strip("-")
    return "edgec-" + name


def _script(host, precisions):
    # type: (str, Sequence[str]) -> str
    results = "/results/" + host
    lines = ["set -eu", "mkdir -p %s" % shlex.quote(results),
             "edgec selftest --json -o %s" % shlex.quote(results + "/selftest.json")]
    for precision in precisions:
        lines += ["edgec build --bundle /data/bundle.tar.gz --precision %s -o /scratch/build"
                  % precision,
                  "edgec bench /scratch/build/model.%s.engine --reference "
                  "/scratch/build/reference.npz --precision %s -o %s"
                  % (precision, precision, shlex.quote("%s/result-%s.json" % (results, precision)))]
    return "\n".join(lines) + "\n"


def _host_path(name, path, kind):
    return {"name": name, "hostPath": {"path": path, "type": kind}}


def job_manifest(host, entry, sha, precisions, namespace):
    # type: (str, Dict[str, Any], str, Sequence[str], str) -> Dict[str, Any]
    variables = entry["vars"]
    root = str(variables.get("edgec_jetson_root", "/")).rstrip("/")
    tegrastats = str(variables.get("edgec_tegrastats", "/usr/bin/tegrastats"))
    for what, path in (("edgec_jetson_root", root + "/"), ("edgec_tegrastats", tegrastats)):
        if not path.startswith("/"):
            raise EdgecError("host %s: %s %s is not an absolute path (a hostPath volume needs "
                             "one)" % (host, what, path))
    image = variables.get("edgec_image") or JETPACK_GROUPS[entry["jetpack"]][0]
    selector = {BOARD_LABEL: entry["profile"]}
    node = variables.get("k8s_node")
    if node is not None:
        if not _LABEL_VALUE.match(str(node)) or len(str(node)) > 63:
            raise EdgecError("host %s: k8s_node %r is not a Kubernetes node name" % (host, node))
        selector[HOSTNAME_LABEL] = str(node)
    labels = {"app.kubernetes.io/name": "edgec", "app.kubernetes.io/component": "fleet-bench",
              "edgec.io/host": job_name(host)[len("edgec-"):], BOARD_LABEL: entry["profile"],
              "edgec.io/jetpack": entry["jetpack"], "edgec.io/bundle": sha[:12]}
    container = {
        "name": "edgec",
        "image": image,
        "imagePullPolicy": "IfNotPresent",  # images are loaded on the boards, not pulled
        "command": ["/bin/sh", "-c", _script(host, precisions)],
        "env": [{"name": "EDGEC_JETSON_ROOT", "value": "/host"},
                {"name": "LC_ALL", "value": "C.UTF-8"}],
        "securityContext": {"allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [
            {"name": "bundle", "mountPath": "/data/bundle.tar.gz", "readOnly": True},
            {"name": "device-tree", "mountPath": "/host/proc/device-tree", "readOnly": True},
            {"name": "nv-tegra-release", "mountPath": "/host/etc/nv_tegra_release",
             "readOnly": True},
            {"name": "results", "mountPath": "/results"},
            {"name": "scratch", "mountPath": "/scratch"},
            {"name": "tegrastats", "mountPath": "/usr/bin/tegrastats", "readOnly": True},
        ],
        "workingDir": "/results",
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name(host), "namespace": namespace, "labels": labels,
                     "annotations": {"edgec.io/bundle-sha256": sha, "edgec.io/inventory-host":
                                     host, "edgec.io/precisions": ",".join(precisions)}},
        "spec": {
            "backoffLimit": 0,  # a failed build or bench is an outcome, not retried
            "ttlSecondsAfterFinished": TTL_SECONDS,
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "restartPolicy": "Never",
                    "runtimeClassName": RUNTIME_CLASS,
                    "nodeSelector": selector,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": IMAGE_UID,
                                        "runAsGroup": IMAGE_UID,
                                        "supplementalGroups": [VIDEO_GID]},
                    "containers": [container],
                    "volumes": [
                        _host_path("bundle", "%s/%s.tar.gz" % (BUNDLES_DIR, sha), "File"),
                        _host_path("device-tree", root + "/proc/device-tree", "Directory"),
                        _host_path("nv-tegra-release", root + "/etc/nv_tegra_release", "File"),
                        _host_path("results", RESULTS_DIR, "Directory"),
                        {"name": "scratch", "emptyDir": {}},
                        _host_path("tegrastats", tegrastats, "File"),
                    ],
                },
            },
        },
    }


def write_jobs(inventory_path, bundle_path, out_dir, precisions=("mix",), namespace="edgec"):
    # type: (str, str, str, Sequence[str], str) -> Dict[str, Any]
    """Write OUT/job-<host>.yaml per board and OUT/kustomization.yaml; return the record.
    The inventory, bundle and names are all checked before anything is written."""
    inventory = load_inventory(inventory_path)
    if not os.path.isfile(bundle_path):
        raise EdgecError("bundle %s does not exist" % bundle_path)
    if not _NAME.match(namespace) or len(namespace) > 63:
        raise EdgecError("namespace %r is not a Kubernetes namespace name (lower-case letters, "
                         "digits and dashes)" % namespace)
    precisions = list(dict.fromkeys(precisions or ["mix"]))
    sha = sha256_file(bundle_path)
    names = {}  # type: Dict[str, str]
    documents = {}  # type: Dict[str, str]
    jobs = {}  # type: Dict[str, Dict[str, Any]]
    for host, entry in sorted(inventory["hosts"].items()):
        name = job_name(host)
        if not _NAME.match(name) or len(name) > 63:
            raise EdgecError("inventory %s: host %s gives no valid Job name (%s)"
                             % (inventory_path, host, name))
        if name in names:
            raise EdgecError("inventory %s: hosts %s and %s give the same Job name %s"
                             % (inventory_path, names[name], host, name))
        names[name] = host
        manifest = job_manifest(host, entry, sha, precisions, namespace)
        filename = "job-%s.yaml" % name[len("edgec-"):]
        documents[filename] = to_yaml(manifest)
        pod = manifest["spec"]["template"]["spec"]
        jobs[host] = {"file": os.path.join(out_dir, filename), "job": name,
                      "board": entry["board"], "jetpack": entry["jetpack"],
                      "image": pod["containers"][0]["image"], "node_selector": pod["nodeSelector"],
                      "results": "%s/%s/" % (RESULTS_DIR, host)}
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": sorted(documents)}
    documents["kustomization.yaml"] = to_yaml(kustomization)
    os.makedirs(out_dir, exist_ok=True)
    for filename, text in sorted(documents.items()):
        atomic_write_text(os.path.join(out_dir, filename), text)
    return {"format": K8S_FORMAT, "inventory": inventory_path, "bundle": bundle_path,
            "bundle_sha256": sha, "bundle_on_node": "%s/%s.tar.gz" % (BUNDLES_DIR, sha),
            "results_on_node": RESULTS_DIR, "namespace": namespace, "precisions": precisions,
            "kustomization": os.path.join(out_dir, "kustomization.yaml"), "jobs": jobs,
            "files": sorted(os.path.join(out_dir, f) for f in documents)}
