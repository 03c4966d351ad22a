"""The checks that need TensorRT: engines built by edgec's builder at every precision, their
outputs, their layer precisions, the timing cache, the DLA, CUDA events vs the host clock, and
Polygraphy's engines as an independent oracle. Python 3.6 compatible."""
import os
import shutil
import time
from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

import numpy as np

from edgec import artifacts
from edgec.runtime.selftest.host_checks import infer_per_sample, psnr_summary, workstation_psnr
from edgec.runtime.selftest.judge import (CLOCK_WARMUP_RUNS, PASSED, check_layer_precisions,
                                         compare_clocks, compare_layer_precisions,
                                         polygraphy_build_plan, psnr_threshold, version_tuple)
from edgec.runtime.selftest.record import Context, failed, passed, skipped  # noqa: F401


# -- Checks that need TensorRT ------------------------------------------------------------

def _build_folder(ctx, name):
    # type: (Context, str) -> str
    """A folder holding a copy of the bundle's files, for one build (each build writes
    model.<precision>.engine into its folder)."""
    folder = os.path.join(ctx.work_dir, name)
    if not os.path.isdir(folder):
        os.makedirs(folder)
    for entry in os.listdir(ctx.bundle_dir):
        source = os.path.join(ctx.bundle_dir, entry)
        if os.path.isfile(source):
            shutil.copyfile(source, os.path.join(folder, entry))
    return folder


def _builder_messages(sidecar):
    # type: (Dict[str, Any]) -> List[str]
    return list((sidecar.get("layers") or {}).get("builder_messages") or [])


def _build_summary(sidecar):
    # type: (Dict[str, Any]) -> Dict[str, Any]
    layers = sidecar.get("layers") or {}
    return {"tensorrt": sidecar.get("tensorrt"), "device": sidecar.get("device"),
            "build_seconds": sidecar.get("build_seconds"),
            "strategy": (sidecar.get("settings") or {}).get("strategy"),
            "layer_precision_counts": layers.get("layer_precision_counts"),
            "inspector": layers.get("available"), "why_no_inspector": layers.get("why")}


def _int8_unsupported(ctx, precision):
    # type: (Context, str) -> Optional[str]
    if ctx.profile is not None and not ctx.profile.supports(precision):
        return ("the %s's GPU has no INT8 (no DP4A, no tensor cores), so a %s engine would be "
                "an FP16 one" % (ctx.profile.name, precision.upper()))
    return None


def check_build(ctx, precision):
    # type: (Context, str) -> Dict[str, Any]
    from edgec.runtime.trt import builder as trt_builder

    why = _int8_unsupported(ctx, precision)
    if why:
        return skipped(why)
    folder = _build_folder(ctx, precision)
    settings = trt_builder.EngineSettings(precision)
    sidecar = trt_builder.build_in_folder(folder, settings, {"model": "edgec selftest"})
    engine = os.path.join(folder, artifacts.engine_file(precision))
    if not os.path.isfile(engine):
        return failed("the builder returned but wrote no %s" % engine, _build_summary(sidecar),
                      _builder_messages(sidecar))
    ctx.engines[precision] = engine
    ctx.sidecars[precision] = sidecar
    if ctx.compute_capability is None:
        ctx.compute_capability = (sidecar.get("device") or {}).get("compute_capability")
    details = dict(_build_summary(sidecar), engine=engine, engine_bytes=os.path.getsize(engine))
    return passed("%s, %.1f KB in %.1f s" % (os.path.basename(engine),
                                             os.path.getsize(engine) / 1024.0,
                                             float(sidecar.get("build_seconds") or 0)),
                  details, _builder_messages(sidecar))


def _run_engine(engine, reference, threshold):
    # type: (str, Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]], float) -> Tuple[Dict[str, np.ndarray], Dict[str, Any], List[str], Dict[str, Any]]  # noqa: E501
    from edgec.runtime.bench import compare_outputs
    from edgec.runtime.trt import runner as trt_runner

    inputs, expected = reference
    with trt_runner.TensorRTRunner(engine, batch=1) as runner:
        outputs = infer_per_sample(runner, inputs)
        warnings = list(getattr(runner, "warnings", []))
        memory = {"device_memory_bytes": getattr(runner, "device_memory_bytes", None)}
    return outputs, compare_outputs(outputs, expected, threshold), warnings, memory


def check_engine_reference(ctx, precision, engine=None, store=True):
    # type: (Context, str, Optional[str], bool) -> Dict[str, Any]
    assert ctx.reference is not None
    engine = engine or ctx.engines[precision]
    threshold = psnr_threshold(precision, ctx.compute_capability)
    outputs, check, warnings, memory = _run_engine(engine, ctx.reference, threshold)
    if store:
        ctx.outputs[precision] = outputs
    details = {"engine": engine, "check": check, "memory": memory,
               "workstation_onnxruntime_psnr_db": workstation_psnr(ctx.quality, precision)}
    if not check["passed"]:
        return failed("%s engine vs the FP32 reference: %s" % (precision.upper(),
                                                               psnr_summary(check)),
                      details, warnings)
    return passed(psnr_summary(check), details, warnings)


def check_layers(ctx, precision):
    # type: (Context, str) -> Dict[str, Any]
    layers = ctx.sidecars[precision].get("layers") or {}
    if not layers.get("available"):
        return skipped(layers.get("why") or "the sidecar has no engine inspector report")
    rows = list(layers.get("engine_layers") or [])
    if not rows:  # every engine has layers: an empty report means the inspector told nothing
        return failed("the engine inspector reported no layers, so no precision can be read "
                      "back (ProfilingVerbosity.DETAILED was set at build)")
    plan = layers.get("planned_vs_built") if precision == "mix" else None
    result = check_layer_precisions(precision, rows, plan)
    details = dict(result, planned_vs_built=plan, engine_layers=rows)
    if not result["passed"]:
        return failed("; ".join(result["problems"]), details, result["notes"])
    if result.get("undecided"):
        return skipped("the engine inspector names none of the planned layers (fused beyond "
                       "recognition), so whether the plan is honoured cannot be read back",
                       details, result["notes"])
    counts = ", ".join("%d %s" % (n, p) for p, n in sorted(result["layer_precision_counts"]
                                                          .items()))
    summary = "%d engine layers: %s" % (len(rows), counts or "none")
    if plan is not None:
        summary += "; plan honoured on %d of %d layers" % (len(result["plan"]["honoured"]),
                                                           len(plan))
    return passed(summary, details, result["notes"])


def check_timing_cache(ctx):
    # type: (Context) -> Dict[str, Any]
    from edgec.runtime.trt import builder as trt_builder

    folder = _build_folder(ctx, "timing-cache")
    cache = os.path.join(folder, "timing.cache")
    if os.path.exists(cache):
        os.remove(cache)  # a kept folder from an earlier run: start without a cache
    settings = trt_builder.EngineSettings("fp16", timing_cache=cache)
    first = trt_builder.build_in_folder(folder, settings, {"model": "edgec selftest"})
    if not os.path.isfile(cache) or os.path.getsize(cache) == 0:
        return failed("the first build with timing_cache=%s did not write the cache" % cache,
                      {"first_build_seconds": first.get("build_seconds")},
                      _builder_messages(first))
    written = os.path.getsize(cache)
    engine = os.path.join(folder, artifacts.engine_file("fp16"))
    with open(engine, "rb") as handle:
        first_engine = handle.read()
    second = trt_builder.build_in_folder(folder, settings, {"model": "edgec selftest"})
    with open(engine, "rb") as handle:
        same = handle.read() == first_engine
    details = {"cache": cache, "cache_bytes_after_first": written,
               "cache_bytes_after_second": os.path.getsize(cache) if os.path.isfile(cache)
               else None,
               "first_build_seconds": first.get("build_seconds"),
               "second_build_seconds": second.get("build_seconds"),
               "same_engine_bytes": same}
    if not os.path.isfile(cache):
        return failed("the second build removed the timing cache %s" % cache, details,
                      _builder_messages(second))
    return passed("cache written (%d bytes) and read back: builds %.1f s, then %.1f s"
                  % (written, float(first.get("build_seconds") or 0),
                     float(second.get("build_seconds") or 0)), details,
                  _builder_messages(second))


def check_dla(ctx):
    # type: (Context) -> Dict[str, Any]
    from edgec.runtime.trt import builder as trt_builder

    if ctx.board is None:
        return skipped("not a Jetson: no DLA")
    if ctx.profile is None:
        return skipped("unknown Jetson (%s): no device profile says whether it has a DLA"
                       % ctx.board.get("soc"))
    if not ctx.profile.dla_cores:
        return skipped("the %s has no DLA" % ctx.profile.name)
    folder = _build_folder(ctx, "dla")
    sidecar = trt_builder.build_in_folder(folder, trt_builder.EngineSettings("fp16", dla_core=0),
                                          {"model": "edgec selftest"})
    engine = os.path.join(folder, artifacts.engine_file("fp16"))
    outcome = check_engine_reference(ctx, "fp16", engine, store=False)
    outcome["details"]["build"] = _build_summary(sidecar)
    outcome["messages"] = _builder_messages(sidecar) + outcome["messages"]
    if outcome["status"] == PASSED:
        outcome["summary"] = "FP16 on DLA core 0 (GPU fallback on): " + (outcome["summary"] or "")
    return outcome


def check_clocks(ctx, runs):
    # type: (Context, int) -> Dict[str, Any]
    from edgec.runtime.trt import runner as trt_runner

    precision = next((p for p in ("fp16", "fp32", "int8", "mix") if p in ctx.engines), None)
    if precision is None:
        return skipped("no engine was built")
    assert ctx.reference is not None
    inputs = ctx.reference[0]
    pairs = []  # type: List[Tuple[float, float]]
    with trt_runner.TensorRTRunner(ctx.engines[precision], batch=1) as runner:
        dtypes = {info.name: info.dtype for info in runner.inputs()}
        feed = {name: np.ascontiguousarray(value[:1]).astype(dtypes.get(name, value.dtype))
                for name, value in inputs.items()}
        for _ in range(CLOCK_WARMUP_RUNS):
            runner.timed_infer(feed)
        for _ in range(runs):
            started = time.perf_counter()
            end_to_end, _compute = runner.timed_infer(feed)
            pairs.append((float(end_to_end), (time.perf_counter() - started) * 1000.0))
    result = compare_clocks(pairs)
    result["engine"] = ctx.engines[precision]
    if not result["passed"]:
        return failed("; ".join(result["problems"]), result)
    return passed("%s engine, %d runs: events %.3f ms, host %.3f ms (median; host - events "
                  "%.3f ms)" % (precision.upper(), result["runs"], result["event_ms_median"],
                                result["host_ms_median"],
                                result["host_minus_event_ms"]["median"]), result)


def polygraphy_version():
    # type: () -> Optional[str]
    try:
        import polygraphy  # type: ignore[import-not-found]  # optional, untyped
    except ImportError:
        return None
    return str(getattr(polygraphy, "__version__", "unknown"))


def _polygraphy_outputs(onnx_path, flags, inputs):
    # type: (str, Dict[str, Any], Dict[str, np.ndarray]) -> Tuple[Dict[str, np.ndarray], Optional[List[Dict[str, Any]]]]  # noqa: E501
    """Polygraphy's own engine for the ONNX file (batch-1 profile), its outputs on every
    reference sample, and its layers' precisions from the engine inspector."""
    import tensorrt as trt
    from polygraphy.backend.trt import (  # type: ignore[import-not-found]  # optional, untyped
        CreateConfig, EngineFromNetwork, NetworkFromOnnxPath, Profile, TrtRunner)

    from edgec.runtime.trt import layers as trt_layers

    profile = Profile()
    for name, value in inputs.items():
        shape = (1,) + tuple(int(d) for d in value.shape[1:])
        profile.add(name, min=shape, opt=shape, max=shape)
    config = CreateConfig(profiles=[profile],
                          profiling_verbosity=trt.ProfilingVerbosity.DETAILED, **flags)
    engine = EngineFromNetwork(NetworkFromOnnxPath(onnx_path), config=config)()
    rows = None  # type: Optional[List[Dict[str, Any]]]
    try:
        inspector = engine.create_engine_inspector()
        rows = trt_layers.engine_layer_precisions(
            inspector.get_engine_information(trt.LayerInformationFormat.JSON))
    except Exception:  # the oracle's outputs are the check; its layer report is a bonus
        rows = None
    parts = {}  # type: Dict[str, List[np.ndarray]]
    with TrtRunner(engine) as runner:
        count = int(next(iter(inputs.values())).shape[0])
        for index in range(count):
            feed = {name: np.ascontiguousarray(value[index:index + 1])
                    for name, value in inputs.items()}
            for name, value in runner.infer(feed).items():
                parts.setdefault(name, []).append(np.array(value))
    return {name: np.concatenate(values) for name, values in parts.items()}, rows


def check_polygraphy(ctx, precision):
    # type: (Context, str) -> Dict[str, Any]
    from edgec.runtime.bench import compare_outputs

    assert ctx.reference is not None and ctx.tensorrt_version is not None
    onnx_file, flags = polygraphy_build_plan(precision, ctx.tensorrt_version)
    threshold = psnr_threshold(precision, ctx.compute_capability)
    theirs, rows = _polygraphy_outputs(os.path.join(ctx.bundle_dir, onnx_file), flags,
                                       ctx.reference[0])
    agreement = compare_outputs(ctx.outputs[precision], theirs, threshold)
    oracle_vs_reference = compare_outputs(theirs, ctx.reference[1], threshold)
    details = {"polygraphy": polygraphy_version(), "onnx": onnx_file, "flags": flags,
               "edgec_vs_polygraphy": agreement, "polygraphy_vs_reference": oracle_vs_reference,
               "note": "Polygraphy clears TF32 unless asked; edgec's builder leaves it on"}
    messages = []  # type: List[str]
    problems = []  # type: List[str]
    if not agreement["passed"]:
        problems.append("edgec's %s engine and Polygraphy's differ: %s"
                        % (precision.upper(), psnr_summary(agreement)))
    ours = (ctx.sidecars[precision].get("layers") or {}).get("engine_layers")
    if rows is not None and ours:
        layers = compare_layer_precisions(ours, rows)
        details["layer_precisions"] = layers
        # Precisions must agree when neither builder chose them: FP32, and strongly typed FP16
        # (TensorRT 11: both build from the FP16 ONNX). Otherwise the builders may pick
        # differently, which is reported, not failed.
        strict = precision == "fp32" or (version_tuple(ctx.tensorrt_version) or (0,))[0] >= 11
        if layers["differ"]:
            text = "layer precisions differ from Polygraphy's: " + "; ".join(layers["differ"][:5])
            (problems if strict else messages).append(text)
    elif rows is None:
        messages.append("Polygraphy's engine gave no inspector report: layer precisions not "
                        "compared")
    if problems:
        return failed("; ".join(problems), details, messages)
    return passed("%s vs Polygraphy's engine: %s" % (precision.upper(),
                                                      psnr_summary(agreement)),
                  details, messages)

