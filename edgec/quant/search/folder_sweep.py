"""Assemble and run a sweep from an output folder's artifacts; write sensitivity.json,
sensitivity.png and plan.json. The sweep chooses on the selection split; the plan, all FP16 and
all INT8 are then measured on the test split, and plan.json carries those test figures."""
import json
import os
import time
from typing import Dict, Optional, Sequence

import onnx

from edgec import artifacts
from edgec.artifacts import SENSITIVITY_FORMAT
from edgec.fileio import atomic_write_json, sha256_bytes, sha256_file
from edgec.quant.calibration.calibrate import load_ranges
from edgec.quant.evaluator.device import pick_device
from edgec.quant.qdq.spec import PrecisionPlan, QuantSpec
from edgec.quant.quality.budget import Budget
from edgec.quant.quality.splits import SELECTION, SPLIT_SEED, TEST, SampleSplits
from edgec.quant.quantize import layer_macs
from edgec.quant.search.sweep import SweepEngine, SweepState, run_sweep
from edgec.settings import SweepSettings


def test_figures(engine: SweepEngine, budget: Budget, results: Dict[str, object],
                 state: SweepState, split: Dict[str, object]) -> Dict[str, object]:
    """All FP16, all INT8 and the chosen plan on the test split (its own FP32 references and
    peak), each saved in the sweep state as it is measured."""
    layers = engine.layers
    figures = {}
    for name, precisions in (("all_fp16", {l: "fp16" for l in layers}),
                             ("all_int8", {l: "int8" for l in layers}),
                             ("plan", results["selection"]["precisions"])):
        figures[name] = state.plan_metrics(engine, precisions, prefix="test/")
    return dict(figures, meets_budget=budget.holds(figures["plan"], figures["all_fp16"]),
                bounds=budget.bounds(figures["all_fp16"]), split=split)


def latency_cost(out_dir: str, model, layer_names, target: str, profiles: Sequence[str]):
    """The target's latency objective: the shipped estimator's per-layer times, replaced by the
    board's own profile.json times where given, and the graph's precision boundaries."""
    from edgec.errors import EdgecError
    from edgec.latency import cost_model
    from edgec.quant.quantize import layer_records
    from edgec.quant.search.latency_objective import LatencyCost, conv_edges, measured_times

    wanted = set(layer_names)
    layers = [l for l in layer_records(out_dir, model) if l["name"] in wanted]
    if len(layers) != len(layer_names):
        raise EdgecError("--target needs every layer's shape; %d of %d layers have none"
                         % (len(layer_names) - len(layers), len(layer_names)))
    params = cost_model.load_params()
    measured = measured_times(profiles, target, layer_names) if profiles else None
    return LatencyCost(target, layers, conv_edges(model, layer_names), params["params"],
                       measured, list(profiles))


def _node_attributes(model):
    return {node.name: {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            for node in model.graph.node}


def placed_cost(model, cost):
    """`--dla`: the target's frame interval with each plan's best GPU/DLA placement."""
    from edgec.quant.search.placement import PlacedCost

    return PlacedCost(cost, _node_attributes(model))


def dla_placement(model, cost, precisions: Dict[str, str]):
    """GPU or DLA per layer of the chosen plan on the target (search.placement)."""
    from edgec.quant.search.placement import place

    latency = getattr(cost, "latency", cost)  # a PlacedCost wraps the target's LatencyCost
    return place(latency, _node_attributes(model), precisions)


def _latency_provenance(latency):
    if not latency:
        return None
    keep = ("target", "profiles", "plan", "all_fp16", "all_int8", "int8_not_faster",
            "placement")
    record = {k: latency[k] for k in keep}
    record["mac_share_plan"] = {k: latency["mac_share_plan"][k]
                                for k in ("fp16_layers", "predicted_ms", "int8_mac_share")}
    return record


def definition_order(out_dir: str, onnx_order):
    """The zoo's layer order (encoder to decoder, as the paper sweeps), from export.json; the
    ONNX graph's order for models without one."""
    path = os.path.join(out_dir, artifacts.EXPORT_JSON)
    if os.path.isfile(path):
        with open(path) as handle:
            names = [layer["name"] for layer in json.load(handle)["layers"]]
        if sorted(names) == sorted(onnx_order):
            return names
    return list(onnx_order)


def sweep(out_dir: str, entry, onnx_path: str, ranges_path: str, splits: SampleSplits, *,
          settings: SweepSettings, checkpoint: Optional[str] = None,
          progress: bool = True) -> Dict[str, object]:
    """The sweep of the PyTorch model `entry` (+ `checkpoint`) over the FP32 file and its
    ranges: chooses on the selection split of `splits`, reports on its test split.
    `settings.describe_samples`: see search.sweep.run_sweep (0: all)."""
    budget_text, eval_samples = settings.budget_text, settings.eval_samples
    batch_size, resume = settings.batch_size, settings.resume
    target, profiles = settings.target, settings.profiles
    describe_samples, holdout = settings.describe_samples, splits.holdout
    settings_dla = settings.dla
    import torch

    from edgec.fingerprints import file_key
    from edgec.quant.evaluator.fakequant import build_evaluator
    from edgec.quant.search.plots import plot_sensitivity

    budget = Budget.parse(budget_text)
    device = pick_device(settings.device)
    torch.backends.cudnn.allow_tf32 = False  # the FP32 reference must be FP32
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    model = onnx.load(onnx_path)
    spec = QuantSpec.from_onnx(model, load_ranges(ranges_path))
    region = entry.quality_region
    budget.check_model(entry.name, region)
    region_rows = region.rows() if region else None
    store = splits.store
    indices = splits.indices(SELECTION, eval_samples)
    test_indices = splits.indices(TEST, eval_samples)
    input_names = [i.name for i in entry.inputs]
    onnx_key = file_key(onnx_path)
    settings = {
        "model": entry.name, "onnx_sha256": onnx_key["sha256"],
        "onnx_data_sha256": onnx_key.get("data_sha256"),  # external weights
        "ranges_sha256": sha256_file(ranges_path), "samples_sha256": store.manifest["sha256"],
        "samples": int(len(indices)), "split": SELECTION,
        "selection": splits.describe(SELECTION, indices),
        "test": splits.describe(TEST, test_indices),
        "region": region.name if region else None,
        "holdout_fraction": holdout, "split_seed": SPLIT_SEED,
        "sampling_seed": store.manifest.get("seed"),
        "batch_size": batch_size, "budget": budget.text(), "method": spec.method,
        "checkpoint_sha256": sha256_file(checkpoint) if checkpoint else None,
        "metric_peak": "FP32 output value range over the evaluation samples",
        "target": target, "profiles_sha256": [sha256_file(p) for p in profiles],
        "describe_samples": int(describe_samples), "dla": bool(settings_dla),
    }
    settings_hash = sha256_bytes(json.dumps(settings, sort_keys=True).encode())
    state_path = os.path.join(out_dir, artifacts.SWEEP_STATE_JSON)
    state = SweepState.load_or_new(state_path, settings_hash, resume)
    start = time.time()
    evaluator = build_evaluator(entry, spec, checkpoint, device)

    def batches_of(split_indices_):
        return ([b[n] for n in input_names] for b in store.batches(split_indices_, batch_size))

    macs = layer_macs(out_dir, model)
    layers = definition_order(out_dir, spec.layer_names)
    engine = SweepEngine(evaluator, layers, macs, batches_of(indices), device,
                         region=region_rows)
    cost = latency_cost(out_dir, model, layers, target, profiles) if target else None
    if cost is not None and settings_dla:
        cost = placed_cost(model, cost)
    setup_seconds = time.time() - start
    results = run_sweep(engine, budget, state, progress, cost, describe_samples)
    if cost is not None:
        results["latency"]["placement"] = dict(dla_placement(
            model, cost, results["selection"]["precisions"]), in_plan=settings_dla)
    del engine  # its batches and references: the test split's take their place
    results["test"] = test_figures(
        SweepEngine(evaluator, layers, macs, batches_of(test_indices), device,
                    region=region_rows),
        budget, results, state, settings["test"])
    seconds = time.time() - start
    record = {"format": SENSITIVITY_FORMAT, "model": entry.name, "settings": settings,
              "results": results}
    sensitivity_path = os.path.join(out_dir, artifacts.SENSITIVITY_JSON)
    atomic_write_json(sensitivity_path, record)
    selection = results["selection"]
    test = results["test"]
    plan = PrecisionPlan(selection["precisions"], {
        "kind": "mix", "made_by": "edgec sweep", "budget": budget.text(),
        "metrics": test["plan"], "metrics_split": TEST,
        "meets_budget_on_test": test["meets_budget"],
        "selection_metrics": selection["metrics"],
        "int8_mac_share": selection["int8_mac_share"],
        "objective": selection["objective"]["objective"],
        "latency": _latency_provenance(results.get("latency")),
        "sensitivity_sha256": sha256_file(sensitivity_path),
        "samples": test["split"]["samples"], "selection_samples": settings["samples"]})
    placement = (results.get("latency") or {}).get("placement") or {}
    if settings_dla and placement.get("dla_layers"):
        plan.devices = placement["devices"]
    plan.save(os.path.join(out_dir, artifacts.PLAN_JSON))
    plot_sensitivity(record, os.path.join(out_dir, artifacts.SENSITIVITY_PNG))
    os.unlink(state.path)
    timing = {"device": device, "seconds": round(seconds, 3),
              "setup_seconds": round(setup_seconds, 3), "configurations": results["configurations"],
              "plans_evaluated": len(selection["steps"]) + 1, "samples": settings["samples"],
              "resumed": bool(resume)}
    atomic_write_json(os.path.join(out_dir, artifacts.SWEEP_TIMING_JSON), timing)
    return {"record": record, "timing": timing}
