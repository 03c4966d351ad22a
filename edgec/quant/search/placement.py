"""GPU or DLA for each layer of a chosen plan, on a target Jetson with a DLA.

One frame on a Jetson runs its GPU and DLA parts one after the other, so moving a layer to the
DLA never lowers one frame's latency (each DLA core has a fraction of the GPU's peak: AGX
Orin 64GB 26 dense INT8 TOPS per core against its GPU's 85). What it lowers is the frame
interval when consecutive frames overlap, one on the DLA while the next is on the GPU (two
execution contexts, as a video stream runs): the interval is then the busier engine's time.
So the placement minimises that interval, then latency, and the plan reports both against the
GPU-only plan. A crossing between GPU and DLA costs the GPU one reformat of the tensor (the
precision boundary cost of latency_objective), each DLA subgraph one submission, and a core
holds at most 16 subgraphs. Layer rules and DLA times: edgec.latency.dla.

`edgec bench` runs one frame at a time: it measures the latency, not the overlapped interval.
"""
from typing import Any, Dict, List, Sequence, Tuple  # noqa: F401

from edgec.latency import cost_model, dla

GPU, DLA = "gpu", "dla"


class Placement(object):
    """The costs of every GPU/DLA assignment of one plan's layers on one target."""

    def __init__(self, cost, attributes, precisions):
        # type: (Any, Dict[str, Dict[str, Any]], Dict[str, str]) -> None
        from edgec.jetson.profiles import BY_KEY

        # latency_objective.LatencyCost of the target: its layer records, fit and edges
        self.cost = cost
        layers, params = cost.layers, cost.params
        self.profile = BY_KEY[cost.target]
        self.precisions = dict(precisions)
        self.order = [layer["name"] for layer in layers if layer["name"] in precisions]
        by_name = {layer["name"]: layer for layer in layers}
        self.refused = {}  # type: Dict[str, str]
        self.dla_ms = {}  # type: Dict[str, float]
        for name in self.order:
            why = dla.refusal(by_name[name], attributes.get(name, {}), precisions[name],
                              self.profile)
            if why:
                self.refused[name] = why
            else:
                self.dla_ms[name] = dla.layer_ms(by_name[name], precisions[name], cost.target,
                                                 params)
        self.subgraph_ms = dla.subgraph_ms(cost.target, params)
        fed = set(b for _, b, _ in cost.edges)
        feeding = set(a for a, _, _ in cost.edges)
        # A DLA layer fed by no planned layer reads a tensor from the GPU (a graph input or an
        # unplanned op); one feeding none hands its output back: a crossing each.
        self.entry_ms = {n: cost_model.reformat_ms(by_name[n]["input_shape"], cost.target, params)
                         for n in self.order if n not in fed}
        self.exit_ms = {n: cost_model.reformat_ms(by_name[n]["output_shape"], cost.target,
                                                  params)
                        for n in self.order if n not in feeding}

    def subgraphs(self, devices):
        # type: (Dict[str, str]) -> int
        """Connected groups of DLA layers (edges between two DLA layers join them)."""
        parent = {n: n for n in self.order if devices[n] == DLA}

        def root(n):
            while parent[n] != n:
                parent[n] = parent[parent[n]]
                n = parent[n]
            return n

        for a, b, _ in self.cost.edges:
            if a in parent and b in parent:
                parent[root(a)] = root(b)
        return len(set(root(n) for n in parent))

    def evaluate(self, devices):
        # type: (Dict[str, str]) -> Dict[str, Any]
        table, precisions = self.cost.table, self.precisions
        gpu = sum(table[n][precisions[n]] for n in self.order if devices[n] == GPU)
        on_dla = [n for n in self.order if devices[n] == DLA]
        dla_time = sum(self.dla_ms[n] for n in on_dla)
        crossings = 0
        for a, b, ms in self.cost.edges:
            if devices[a] != devices[b]:
                gpu += ms
                crossings += 1
            elif precisions[a] != precisions[b]:
                if devices[a] == GPU:
                    gpu += ms
                else:
                    dla_time += ms
        for n in on_dla:
            for side in (self.entry_ms, self.exit_ms):
                if n in side:
                    gpu += side[n]
                    crossings += 1
        groups = self.subgraphs(devices)
        dla_time += groups * self.subgraph_ms
        return {"latency_ms": gpu + dla_time, "interval_ms": max(gpu, dla_time),
                "gpu_ms": gpu, "dla_ms": dla_time, "dla_layers": len(on_dla),
                "subgraphs": groups, "crossings": crossings}

    def _key(self, devices):
        # type: (Dict[str, str]) -> Tuple[float, float]
        row = self.evaluate(devices)
        if row["subgraphs"] > dla.MAX_SUBGRAPHS:
            return float("inf"), float("inf")
        return round(row["interval_ms"], 9), round(row["latency_ms"], 9)

    def moves(self, devices):
        # type: (Dict[str, str]) -> List[List[str]]
        """Every window of consecutive placeable layers (in the model's order) on one device:
        a window moves as one DLA subgraph, so crossings are paid once for all of it."""
        runs = []  # type: List[List[str]]
        for name in self.order:
            if name in self.dla_ms and runs and runs[-1] and \
                    devices[runs[-1][-1]] == devices[name]:
                runs[-1].append(name)
            else:
                runs.append([name] if name in self.dla_ms else [])
        return [run[i:j] for run in runs for i in range(len(run))
                for j in range(i + 1, len(run) + 1)]

    def search(self):
        # type: () -> Dict[str, str]
        """Greedy descent from all GPU: the move that lowers (interval, latency) most, until
        none does."""
        devices = {n: GPU for n in self.order}
        best = self._key(devices)
        for _ in range(4 * len(self.order) + 1):
            candidates = []
            for move in self.moves(devices):
                trial = dict(devices)
                for name in move:
                    trial[name] = DLA if devices[name] == GPU else GPU
                candidates.append((self._key(trial), move, trial))
            if not candidates:
                break
            key, _, trial = min(candidates, key=lambda c: (c[0], len(c[1])))
            if key >= best:
                break
            best, devices = key, trial
        return devices


def _rounded(row):
    # type: (Dict[str, Any]) -> Dict[str, Any]
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def place(cost, attributes, precisions):
    # type: (Any, Dict[str, Dict[str, Any]], Dict[str, str]) -> Dict[str, Any]
    """The plan's placement record: GPU only and with the DLA, each layer's device, and why each
    refused layer stays on the GPU."""
    profile_name = cost.target
    placement = Placement(cost, attributes, precisions)
    gpu_only = {n: GPU for n in placement.order}
    record = {"target": profile_name, "dla_cores": placement.profile.dla_cores,
              "gpu_only": _rounded(placement.evaluate(gpu_only)),
              "refused": placement.refused, "tensorrt": dla.TENSORRT_NOTE,
              "objective": "frame interval with consecutive frames overlapping on GPU and DLA, "
                           "then latency"}  # type: Dict[str, Any]
    if not placement.profile.dla_cores:
        record.update(devices=gpu_only, with_dla=None,
                      why="%s has no DLA" % placement.profile.name)
        return record
    devices = placement.search()
    record.update(devices=devices, with_dla=_rounded(placement.evaluate(devices)),
                  dla_layers=[n for n in placement.order if devices[n] == DLA],
                  assumption="DLA layer times use the GPU-fitted efficiency of their precision "
                             "with the DLA core's published dense peak: no DLA measurement is "
                             "in the fit")
    if not record["dla_layers"]:
        record["why"] = ("no placement lowers the frame interval: %d layers can run on the DLA "
                         "and none pays for its crossings" % len(placement.dla_ms)
                         if placement.dla_ms else "no layer of this plan can run on the DLA")
    return record


class PlacedCost(object):
    """The sweep's objective for `--dla`: a plan's frame interval on the target with its best
    GPU/DLA placement (latency breaks ties), so precisions are chosen for the DLA too: Orin's
    DLA runs INT8 layers only, and a layer kept INT8 can leave the GPU."""

    def __init__(self, cost, attributes):
        # type: (Any, Dict[str, Dict[str, Any]]) -> None
        self.latency = cost
        self.target = cost.target
        self.sources = cost.sources
        self.table = cost.table
        self.name = "frame interval on %s with its DLA" % cost.target
        self.attributes = attributes
        self._seen = {}  # type: Dict[Tuple[Tuple[str, str], ...], Dict[str, Any]]

    def placed(self, precisions):
        # type: (Dict[str, str]) -> Dict[str, Any]
        key = tuple(sorted(precisions.items()))
        if key not in self._seen:
            placement = Placement(self.latency, self.attributes, precisions)
            devices = placement.search()
            self._seen[key] = dict(placement.evaluate(devices), devices=devices)
        return self._seen[key]

    def __call__(self, precisions):
        # type: (Dict[str, str]) -> float
        row = self.placed(precisions)
        return row["interval_ms"] + 1e-6 * row["latency_ms"]

    def int8_not_faster(self):
        # type: () -> List[str]
        return self.latency.int8_not_faster()

    def describe(self, precisions):
        # type: (Dict[str, str]) -> Dict[str, Any]
        row = self.placed(precisions)
        return dict(self.latency.describe(precisions), objective=self.name,
                    predicted_ms=round(row["latency_ms"], 4),
                    interval_ms=round(row["interval_ms"], 4), dla_layers=row["dla_layers"],
                    gpu_ms=round(row["gpu_ms"], 4), dla_ms=round(row["dla_ms"], 4))


def placement_text(record):
    # type: (Dict[str, Any]) -> str
    """One paragraph on a plan's placement record (`place`), for people."""
    gpu = record["gpu_only"]
    if not record.get("with_dla"):
        return "GPU only on %s: %s." % (record["target"], record.get("why", "no DLA"))
    placed = record["with_dla"]
    if not record["dla_layers"]:
        return ("DLA on %s: nothing placed (%s); GPU only %.3f ms."
                % (record["target"], record.get("why"), gpu["latency_ms"]))
    follow = ("Build with --dla-core 0 (or 1) to follow it" if record.get("in_plan", True) else
              "plan.json places nothing: plan with --dla to place them (and to choose "
              "precisions for the DLA)")
    return ("DLA on %s: %d layers (%s) in %d subgraphs; with frames overlapping on GPU and DLA "
            "a frame every %.3f ms (GPU %.3f ms, DLA %.3f ms), one frame alone %.3f ms; the "
            "same precisions on the GPU only %.3f ms. %s; %s. %s."
            % (record["target"], len(record["dla_layers"]), ", ".join(record["dla_layers"]),
               placed["subgraphs"], placed["interval_ms"], placed["gpu_ms"], placed["dla_ms"],
               placed["latency_ms"], gpu["latency_ms"], follow, record["tensorrt"],
               record["assumption"]))
