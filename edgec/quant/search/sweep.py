"""The layer-wise sensitivity sweep and automatic mixed-precision plan selection.

Phase 1 evaluates, on the selection split (edgec.quant.quality.splits), every configuration of two
analyses:
- per-layer: each layer alone INT8 (rest FP16) and alone FP16 (rest INT8);
- boundary (the paper's sweep): the first k layers FP16 and the rest INT8, and the last k
  layers FP16 and the rest INT8, for every k.
Loops run batch by batch over all configurations: the FP32 reference and two base
configurations (all FP16, all INT8) are computed once per batch and each configuration recomputes
only the layers downstream of where it differs from the cheaper base.
Only each layer alone FP16, all FP16 and all INT8 decide the plan (the gains below); the
other configurations are reported and plotted, and are measured on the first
`describe_samples` of the selection samples. On wav2lip they are half of the recomputed work
(40.3 of 80.7 passes over the samples, counted by PartialRunner.recompute_fraction).

Phase 2 picks the plan: layers ranked by measured FP16 gain per MAC, added to FP16 until the
budget holds, then pruned, every candidate plan evaluated for real (never by adding up
per-layer numbers). The chosen plan, all FP16 and all INT8 are then measured on the test split,
which chose nothing: those are the figures the sweep reports.

State is checkpointed atomically after every batch of phase 1 and every plan of phase 2, so an
interrupted sweep resumes where it stopped and ends with the same numbers.
"""
import json
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from edgec.artifacts import SWEEP_STATE_FORMAT
from edgec.errors import EdgecError
from edgec.fileio import atomic_write_json, sha256_bytes
from edgec.quant.evaluator.host_memory import keep_freed_memory
from edgec.quant.evaluator.partial import PartialRunner
from edgec.quant.quality.budget import Budget
from edgec.quant.quality.metrics import QualitySums, Reference, output_peak


class Config(object):
    def __init__(self, key: str, precisions: Dict[str, str]):
        self.key = key
        self.precisions = precisions

    def signature(self) -> str:
        return sha256_bytes(json.dumps(self.precisions, sort_keys=True).encode())[:16]


def phase1_configs(layers: Sequence[str]) -> Dict[str, Config]:
    configs = {}

    def add(key, fp16):
        configs[key] = Config(key, {l: ("fp16" if l in fp16 else "int8") for l in layers})

    for layer in layers:
        add("int8_alone/%s" % layer, set(layers) - {layer})
        add("fp16_alone/%s" % layer, {layer})
    for k in range(len(layers) + 1):
        add("head_fp16/%d" % k, set(layers[:k]))
        add("tail_fp16/%d" % k, set(layers[len(layers) - k:]))
    return configs


class SweepEngine(object):
    """Evaluates precision configurations of one FakeQuantModel on cached batches."""

    def __init__(self, evaluator, layers: Sequence[str], macs: Dict[str, int], batches,
                 device: str, peak: Optional[float] = None,
                 region: Optional[Tuple[float, float]] = None,
                 memory_budget: Optional[int] = None):
        """`memory_budget`: bytes the two base configurations' cached activations of one batch
        may hold (default_memory_budget); larger batches are split to fit it."""
        self.evaluator = evaluator
        self.runner = PartialRunner(evaluator)
        self.layers = list(layers)
        self.macs = macs
        self.device = device
        if device == "cpu":
            keep_freed_memory()
        # Inputs live on the device for the whole sweep: read and copied once. Channels-last
        # tensors take oneDNN's faster CPU convolutions (about 1.7x here) and cuDNN's tensor-core
        # kernels without transposes. Models with 3-D convolutions (5-D weights) keep the
        # default layout: one module-wide format cannot serve 4-D and 5-D tensors.
        planar = all(b.dim() <= 4 for b in evaluator.buffers())
        self.memory_format = torch.channels_last if planar else torch.contiguous_format
        evaluator.to(memory_format=self.memory_format)
        self.batches = [[self._place(torch.from_numpy(np.ascontiguousarray(a)).to(device))
                         for a in batch] for batch in batches]
        self.memory_budget = memory_budget if memory_budget is not None else \
            default_memory_budget(device)
        self._cache_bytes = None  # type: Optional[float]
        self.batches = self._bounded(self.batches)
        outputs = [self._run_uniform("fp32", batch).float()
                   for batch in self.batches]
        self.peak = peak if peak is not None else output_peak(outputs)
        self.references = [Reference(output, self.peak, region) for output in outputs]

    @property
    def cache_bytes_per_sample(self) -> float:
        """Bytes one sample's cached activations take (every node's value, and the input
        steps riding on them), from one sample run through the all-INT8 configuration;
        measured when first asked (only a memory budget needs it)."""
        if self._cache_bytes is None:
            self._cache_bytes = self._measure_cache_bytes()
        return self._cache_bytes

    def _measure_cache_bytes(self) -> float:
        if not self.batches:
            return 0.0
        self._set({l: "int8" for l in self.layers})
        env = self.runner.run_full([t[:1] for t in self.batches[0]])
        seen = {}  # type: Dict[int, int]
        for value in env.values():
            for tensor in (value, getattr(value, "_edgec_prologue", (None, None, None))[2]):
                if isinstance(tensor, torch.Tensor):
                    seen[tensor.data_ptr()] = tensor.numel() * tensor.element_size()
        return float(sum(seen.values()))

    def _bounded(self, batches):
        """Batches split so that two bases' caches of one fit the memory budget."""
        self.max_batch = None  # type: Optional[int]
        if not self.memory_budget or not self.cache_bytes_per_sample:
            return batches
        largest = max(1, int(self.memory_budget // (2 * self.cache_bytes_per_sample)))
        self.max_batch = largest
        bounded = []
        for batch in batches:
            for start in range(0, batch[0].shape[0], largest):
                bounded.append([t[start:start + largest] for t in batch])
        return bounded

    def _place(self, tensor: torch.Tensor) -> torch.Tensor:
        if tensor.dim() == 4:
            return tensor.contiguous(memory_format=self.memory_format)
        return tensor

    def _set(self, precisions: Dict[str, str]) -> None:
        for name, switch in self.evaluator.switches.items():
            switch.precision = precisions[name]

    @torch.no_grad()
    def _run_uniform(self, precision: str, batch):
        self._set({l: precision for l in self.layers})
        return self.evaluator(*batch).float()

    def samples_in(self, batches: int) -> int:
        """Samples the first `batches` batches hold."""
        return int(sum(b[0].shape[0] for b in self.batches[:batches]))

    def batches_for(self, samples: int) -> int:
        """How many leading batches hold at least `samples` samples (0: all batches)."""
        if samples <= 0:
            return len(self.batches)
        held = 0
        for index, batch in enumerate(self.batches):
            held += batch[0].shape[0]
            if held >= samples:
                return index + 1
        return len(self.batches)

    def evaluate_batches(self, configs: List[Config], sums: Dict[str, QualitySums],
                         start_batch: int, on_batch: Callable[[int], None],
                         limits: Optional[Dict[str, int]] = None) -> None:
        """Phase 1: batch-outer over all configs with base reuse. `limits`: configuration
        key -> the number of leading batches it is evaluated on (default: all)."""
        limits = limits or {}
        bases = {"fp16": {l: "fp16" for l in self.layers},
                 "int8": {l: "int8" for l in self.layers}}
        plan_base = {}
        for config in configs:
            costs = {}
            for base_name, base in bases.items():
                changed = [l for l in self.layers if config.precisions[l] != base[l]]
                costs[base_name] = (self.runner.recompute_fraction(changed, self.macs), changed)
            plan_base[config.key] = min(costs.items(), key=lambda kv: kv[1][0])
        for index in range(start_batch, len(self.batches)):
            batch, reference = self.batches[index], self.references[index]
            envs = {}
            for base_name, base in bases.items():
                self._set(base)
                envs[base_name] = self.runner.run_full(batch)
            for config in configs:
                if index >= limits.get(config.key, len(self.batches)):
                    continue
                base_name, (_, changed) = plan_base[config.key]
                self._set(config.precisions)
                output = self.runner.run_partial(envs[base_name], changed)
                sums[config.key].update(reference, output, self.peak)
            del envs
            on_batch(index + 1)

    @torch.no_grad()
    def evaluate_plan(self, precisions: Dict[str, str]) -> Dict[str, object]:
        """Phase 2 and verification: one full plan over every batch."""
        self._set(precisions)
        sums = QualitySums()
        for batch, reference in zip(self.batches, self.references):
            sums.update(reference, self.evaluator(*batch), self.peak)
        return sums.result(self.peak)


def default_memory_budget(device: str) -> Optional[int]:
    """On a GPU, 40% of its memory for the two cached bases (the rest: the configuration being
    evaluated, the inputs and references). On the CPU, none: batches are as given."""
    if device != "cuda":
        return None
    return int(0.4 * torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory)


class SweepState(object):
    """What a sweep has measured so far, saved atomically after every step."""

    def __init__(self, path: str, settings_hash: str):
        self.path = path
        self.settings_hash = settings_hash
        self.batches_done = 0
        self.sums = {}  # type: Dict[str, Dict[str, float]]
        # The plan-deciding configurations' sums over the descriptive batches alone, so that
        # descriptive figures are compared on the same samples.
        self.described = {}  # type: Dict[str, Dict[str, float]]
        self.plans = {}  # type: Dict[str, Dict[str, object]]

    @classmethod
    def load_or_new(cls, path: str, settings_hash: str, resume: bool) -> "SweepState":
        state = cls(path, settings_hash)
        if not resume or not os.path.isfile(path):
            return state
        try:
            with open(path) as handle:
                data = json.load(handle)
        except (OSError, ValueError) as exc:
            raise EdgecError("sweep state %s cannot be read (%s): run without --resume" % (path, exc))
        if data.get("format") != SWEEP_STATE_FORMAT or data.get("settings_hash") != settings_hash:
            raise EdgecError("sweep state %s was made with other settings, model, ranges or "
                             "samples: run without --resume to start over" % path)
        state.batches_done = int(data["batches_done"])
        state.sums = data["sums"]
        state.described = data.get("described", {})
        state.plans = data["plans"]
        return state

    def plan_metrics(self, engine: "SweepEngine", precisions: Dict[str, str],
                     prefix: str = "") -> Dict[str, object]:
        """The metrics of one plan on `engine`'s batches, measured once and saved at once (a
        resumed sweep reads them back). `prefix` keeps another split's figures apart."""
        key = prefix + Config("plan", precisions).signature()
        if key not in self.plans:
            self.plans[key] = engine.evaluate_plan(precisions)
            self.save()
        return self.plans[key]

    def save(self) -> None:
        atomic_write_json(self.path, {"format": SWEEP_STATE_FORMAT,
                                      "settings_hash": self.settings_hash,
                                      "batches_done": self.batches_done, "sums": self.sums,
                                      "described": self.described, "plans": self.plans})


def _interrupt_hook():
    """Tests stop a sweep at an exact point, as Ctrl-C would: EDGEC_SWEEP_INTERRUPT_AFTER=N
    raises KeyboardInterrupt after the N-th checkpoint."""
    limit = os.environ.get("EDGEC_SWEEP_INTERRUPT_AFTER")
    counter = {"n": 0}

    def tick():
        counter["n"] += 1
        if limit is not None and counter["n"] >= int(limit):
            raise KeyboardInterrupt
    return tick


def select_plan(engine: SweepEngine, budget: Budget, gains: Dict[str, float],
                all_fp16: Dict[str, object], all_int8: Dict[str, object],
                evaluate: Callable[[Dict[str, str]], Dict[str, object]],
                cost: Optional[Callable[[Dict[str, str]], float]] = None) -> Dict[str, object]:
    """Greedy by FP16 gain per unit of cost, verified by evaluating every candidate plan; then
    pruned. `cost(plan)` is what the plan should minimise: the FP16 MACs by default
    (edgec.quant.search.latency_objective.MacCost), or a target's predicted latency (LatencyCost).

    1. Free layers first: while making some layer FP16 lowers the cost (its INT8 is not faster
       on the target, boundaries counted), it is made FP16. The MAC cost has none.
    2. Add: the layer with the largest gain per added cost, until the budget holds.
    3. Prune: drop the layers added in 2 (least gain per saved cost first) while the budget
       still holds and the cost falls.
    4. With a latency cost only: flip single layers where that is cheaper and the budget
       holds; take all FP16 if it is cheaper than the result."""
    from edgec.quant.search.latency_objective import MacCost

    layers = engine.layers
    cost = cost or MacCost(engine.macs)
    steps = []

    def plan_with(fp16):
        return {l: ("fp16" if l in fp16 else "int8") for l in layers}

    def added_cost(fp16, layer):
        return cost(plan_with(fp16 | {layer})) - cost(plan_with(fp16))

    def check(fp16, action):
        metrics = evaluate(plan_with(fp16))
        ok = budget.holds(metrics, all_fp16)
        steps.append({"action": action, "fp16_layers": [l for l in layers if l in fp16],
                      "metrics": metrics, "meets_budget": ok, "cost": cost(plan_with(fp16))})
        return ok, metrics

    def priority(fp16, layer):
        extra = added_cost(fp16, layer)
        return (-float("inf") if extra <= 0 else -gains[layer] / extra, layers.index(layer))

    if all_fp16.get(budget.primary_metric) is None or not budget.holds(all_fp16, all_fp16):
        raise EdgecError("budget %s cannot be met even with every layer in FP16 (%s): loosen it"
                         % (budget.text(), _metric_text(all_fp16)))
    ranking = sorted(layers, key=lambda l: priority(set(), l))
    free = set()  # type: set
    while True:
        cheaper = [(added_cost(free, l), layers.index(l), l) for l in layers if l not in free]
        cheaper = [c for c in cheaper if c[0] < 0]
        if not cheaper:
            break
        free.add(min(cheaper)[2])
    chosen = set(free)
    if free:
        ok, _ = check(chosen, "start: FP16 where INT8 is not faster (%s)"
                      % ", ".join(l for l in layers if l in free))
    else:
        ok = budget.holds(all_int8, all_fp16)
    added = []  # type: List[str]
    while not ok and len(chosen) < len(layers):
        layer = min((l for l in layers if l not in chosen), key=lambda l: priority(chosen, l))
        chosen.add(layer)
        added.append(layer)
        ok, _ = check(set(chosen), "add %s" % layer)
    savings = {l: added_cost(chosen - {l}, l) for l in added}
    for layer in sorted(added, key=lambda l: (gains[l] / savings[l] if savings[l] > 0
                                              else float("inf"), layers.index(l))):
        if savings[layer] <= 0:
            continue
        trial = chosen - {layer}
        if cost(plan_with(trial)) < cost(plan_with(chosen)) and \
                check(trial, "drop %s" % layer)[0]:
            chosen = trial
    # Polish (a cost with boundaries only): one pass flipping single layers where that lowers
    # the cost and the budget still holds; then all FP16, which always meets the budget, wins
    # if it is cheaper still (a small model whose boundaries cost more than INT8 saves).
    if not isinstance(cost, MacCost):
        for layer in layers:
            trial = chosen ^ {layer}
            if cost(plan_with(trial)) < cost(plan_with(chosen)) and \
                    check(trial, "flip %s" % layer)[0]:
                chosen = trial
        if cost(plan_with(set(layers))) < cost(plan_with(chosen)):
            chosen = set(layers)
            steps.append({"action": "all FP16: faster than every plan found",
                          "fp16_layers": list(layers), "metrics": all_fp16,
                          "meets_budget": True, "cost": cost(plan_with(chosen))})
    final = plan_with(chosen)
    verified = evaluate(final)
    if not budget.holds(verified, all_fp16):
        raise RuntimeError("selected plan does not verify: %s" % verified)
    return {"ranking": ranking, "steps": steps, "precisions": final,
            "fp16_layers": [l for l in layers if l in chosen],
            "free_fp16_layers": [l for l in layers if l in free], "metrics": verified,
            "objective": cost.describe(final)}


def _difference(a, b, sign: float = 1.0):
    """sign * (a - b) rounded, or None where either side had non-finite outputs."""
    return None if a is None or b is None else round(sign * (a - b), 6)


def _metric_text(metrics) -> str:
    if metrics.get("psnr_db") is None:
        return "non-finite outputs"
    return "PSNR %.2f dB%s" % (metrics["psnr_db"], ", SSIM %.4f" % metrics["ssim"]
                               if metrics.get("ssim") is not None else "")


def plan_deciding(configs: Dict[str, Config], layers: Sequence[str]) -> set:
    """Signatures of the configurations select_plan reads: each layer alone FP16 (its gain),
    all FP16 and all INT8."""
    keys = ["fp16_alone/%s" % l for l in layers] + ["head_fp16/0", "head_fp16/%d" % len(layers)]
    return {configs[k].signature() for k in keys}


def descriptive_limits(engine: SweepEngine, configs: Dict[str, Config], todo: Sequence[Config],
                       describe_samples: int) -> Tuple[int, Dict[str, int]]:
    """The batches the descriptive configurations run on (the leading ones holding
    `describe_samples`; 0: all), and the evaluate_batches limit of each configuration of
    `todo` that no plan reads."""
    deciding = plan_deciding(configs, engine.layers)
    described = engine.batches_for(describe_samples)
    return described, {c.key: described for c in todo if c.signature() not in deciding}


def run_sweep(engine: SweepEngine, budget: Budget, state: SweepState,
              progress: bool = True, cost=None, describe_samples: int = 0) -> Dict[str, object]:
    """Phase 1 and phase 2; `cost` (edgec.quant.search.latency_objective.LatencyCost) makes the plan
    minimise a target's latency, and the MAC-share plan is then chosen too, for comparison.
    `describe_samples`: the configurations no plan depends on are measured on this many
    leading selection samples (0: all); the plan is the same for any value."""
    from edgec.progress import progress_bar

    tick = _interrupt_hook()
    layers = engine.layers
    configs = phase1_configs(layers)
    # Identical configurations (k=0 and k=L of the two boundary directions) are measured once.
    unique = {}  # type: Dict[str, Config]
    for config in configs.values():
        unique.setdefault(config.signature(), config)
    todo = list(unique.values())
    sums = {c.key: QualitySums(state.sums.get(c.key)) for c in todo}
    described, limits = descriptive_limits(engine, configs, todo, describe_samples)

    with progress_bar(len(engine.batches), "sweep (%d configurations)" % len(todo), "batch",
                      progress) as bar:
        bar.update(state.batches_done)

        def on_batch(done):
            state.batches_done = done
            if done == described:
                state.described = {k: sums[k].to_dict() for k in sums if k not in limits}
            state.sums = {k: s.to_dict() for k, s in sums.items()}
            state.save()
            bar.update(1)
            tick()
        engine.evaluate_batches(todo, sums, state.batches_done, on_batch, limits)

    def result_of(key):
        return sums[unique[configs[key].signature()].key].result(engine.peak)

    def described_of(key):
        """The figure over the descriptive samples: what descriptive figures are set against."""
        measured = unique[configs[key].signature()].key
        if measured in limits or described == len(engine.batches):
            return result_of(key)
        return QualitySums(state.described[measured]).result(engine.peak)

    all_fp16 = result_of("head_fp16/%d" % len(layers))
    all_int8 = result_of("head_fp16/0")
    metric = budget.primary_metric
    sign = budget.primary.sign  # gains and drops are improvements: maxerr counts downwards
    all_fp16_described = described_of("head_fp16/%d" % len(layers))
    per_layer = []
    gains = {}
    for layer in layers:
        int8_alone = described_of("int8_alone/" + layer)
        fp16_alone = result_of("fp16_alone/" + layer)
        drop = _difference(all_fp16_described[metric], int8_alone[metric], sign)
        gain = _difference(fp16_alone[metric], all_int8[metric], sign)
        gains[layer] = gain if gain is not None else 0.0
        per_layer.append({"layer": layer, "macs": engine.macs[layer],
                          "int8_alone": int8_alone, "fp16_alone": fp16_alone,
                          "drop_when_int8": drop, "gain_when_fp16": gain})
    boundary = {direction: [dict(k=k, fp16_layers=(layers[:k] if direction == "head_fp16"
                                                   else layers[len(layers) - k:]),
                                 **{"metrics": described_of("%s/%d" % (direction, k))})
                            for k in range(len(layers) + 1)]
                for direction in ("head_fp16", "tail_fp16")}

    def evaluate(precisions):
        measured = len(state.plans)
        metrics = state.plan_metrics(engine, precisions)
        if len(state.plans) > measured:
            tick()
        return metrics

    selection = select_plan(engine, budget, gains, all_fp16, all_int8, evaluate, cost)
    total = float(sum(engine.macs.values()))

    def int8_share(precisions):
        return round(sum(engine.macs[l] for l in layers if precisions[l] == "int8") / total, 6)

    selection["int8_mac_share"] = int8_share(selection["precisions"])
    results = {"metric": metric, "all_fp16": all_fp16, "all_int8": all_int8,
               "per_layer": per_layer, "boundary": boundary, "selection": selection,
               "budget": {"text": budget.text(), "bounds": budget.bounds(all_fp16)},
               "peak": engine.peak, "configurations": len(todo),
               "samples": {"plan_deciding": engine.samples_in(len(engine.batches)),
                           "descriptive": engine.samples_in(described),
                           "descriptive_configurations": len(limits),
                           "descriptive_are": "each layer alone INT8 and the FP16 head/tail "
                                              "boundaries: reported, not read by the plan"}}
    if cost is not None:
        by_macs = select_plan(engine, budget, gains, all_fp16, all_int8, evaluate)
        uniform = {p: {l: p for l in layers} for p in ("fp16", "int8")}
        results["latency"] = {
            "target": cost.target, "profiles": cost.sources,
            "int8_not_faster": cost.int8_not_faster(),
            "plan": cost.describe(selection["precisions"]),
            "all_fp16": cost.describe(uniform["fp16"]),
            "all_int8": cost.describe(uniform["int8"]),
            "mac_share_plan": dict(cost.describe(by_macs["precisions"]),
                                   fp16_layers=by_macs["fp16_layers"],
                                   int8_mac_share=int8_share(by_macs["precisions"]),
                                   metrics=by_macs["metrics"]),
            "layer_ms": cost.table}
    return results
