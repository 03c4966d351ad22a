"""Debug: does the CUDA evaluator apply INT8/FP16? Compares outputs of uniform plans."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402

from benchmarks.sweep_speed import make_store  # noqa: E402
from edgec.calib.store import SampleStore  # noqa: E402
from edgec.exporter.export import export_zoo_model  # noqa: E402
from edgec.models import get_model  # noqa: E402
from edgec.quant.calibrate import calibrate, load_ranges  # noqa: E402
from edgec.quant.fakequant import build_evaluator  # noqa: E402
from edgec.quant.spec import PrecisionPlan, QuantSpec  # noqa: E402

work = "/tmp/dbg"
entry = get_model("lite-wav2lip")
if not os.path.isfile(work + "/model.onnx"):
    export_zoo_model(entry, work)
store = make_store(entry, work + "/s", 96)
calibrate(work + "/model.onnx", store, work, progress=False)
spec = QuantSpec.from_onnx(onnx.load(work + "/model.onnx"), load_ranges(work + "/ranges.json"))
batch = SampleStore(store).get(slice(0, 16))
for device in ("cpu", "cuda"):
    ev = build_evaluator(entry, spec, device=device)
    x = [torch.from_numpy(batch["mel"]).to(device), torch.from_numpy(batch["face"]).to(device)]
    outs = {}
    for half in (False, True):
        ev.use_half_activations(half)
        for p in ("fp32", "fp16", "int8"):
            ev.set_plan(PrecisionPlan.uniform(spec.layer_names, p))
            with torch.no_grad():
                outs[(half, p)] = ev(*x).float().cpu().numpy()
    ref = outs[(False, "fp32")]
    for k, v in outs.items():
        print(device, k, "max|diff| vs fp32", float(np.abs(v - ref).max()), v.dtype, v.shape)
    print(device, "switch precisions:", sorted({s.precision for s in ev.switches.values()}))
