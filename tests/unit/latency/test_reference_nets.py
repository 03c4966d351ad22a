"""Reference networks for fitting the latency estimator: totals against published figures,
shapes that follow from each layer's kernel, stride and padding, the layer record's keys, and
errors for unknown names.

Tolerances. MACs: within 3% of the recorded figure (torchvision's GFLOPS, the papers, Darknet's
table, OpenVINO's GFLOPs / 2), except GoogLeNet at 4%: its only recorded figure (OpenVINO,
BVLC Caffe) also counts LRN, pooling and concatenation, which are no layers here; the conv and
FC MACs alone must come out below it. Params: exact against torchvision's integer counts
(converted to torchvision's convention: conv weights, BN weight and bias, no folded bias),
within 1% of figures quoted to 0.001 M (OpenVINO, which folds BN into biases, as here), and
within 2% of the MobileNet-v1 paper's 4.2 M (weights only, one decimal).
"""
import ast
import json
import os
import shutil
import subprocess
import sys

import pytest
from paths import REPO as ROOT

from edgec.jetson.profiles import BY_KEY
from edgec.latency import cost_model, reference_nets

MODULE = os.path.join(ROOT, "edgec", "latency", "reference_nets.py")
NAMES = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vgg16", "vgg19",
         "mobilenet-v1", "mobilenet-v2", "inception-v4", "googlenet", "alexnet", "squeezenet1.1",
         "densenet121", "ssd-mobilenet-v1", "ssd-mobilenet-v2", "ssd-resnet34", "tiny-yolov3",
         "yolov3"]
MACS_TOLERANCE = {"googlenet": 0.04}
# torchvision num_params (weights meta); convs without bias, each followed by a batch norm
TORCHVISION_BN = {"resnet18": 11689512, "resnet34": 21797672, "resnet50": 25557032,
                  "resnet101": 44549160, "resnet152": 60192808, "mobilenet-v2": 3504872}
TORCHVISION_PLAIN = {"vgg16": 138357544, "vgg19": 143667240, "alexnet": 61100840,
                     "squeezenet1.1": 1235496}  # convs with bias, no batch norm


def _convs(layers):
    return [layer for layer in layers if layer["kind"] == "Conv"]


def _weights(layer):
    return layer["params"] - layer["out_channels"]


@pytest.fixture(scope="module")
def built():
    return {name: reference_nets.network_layers(name) for name in reference_nets.network_names()}


def test_names_and_metadata():
    assert reference_nets.network_names() == NAMES
    for name in NAMES:
        entry = reference_nets.NETWORKS[name]
        assert len(entry["input"]) == 3 and entry["definition"]
        assert entry["published_gmacs"] and entry["gmacs_citation"]
        assert entry["published_mparams"] and entry["mparams_citation"]


@pytest.mark.parametrize("name", NAMES)
def test_total_macs_match_the_published_figure(name, built):
    entry = reference_nets.NETWORKS[name]
    gmacs = sum(layer["macs"] for layer in built[name]) / 1e9
    tolerance = MACS_TOLERANCE.get(name, 0.03)
    print("\n%-16s %9.4f GMACs, published %9.4f (%+.2f%%): %s"
          % (name, gmacs, entry["published_gmacs"],
             100 * (gmacs / entry["published_gmacs"] - 1), entry["gmacs_citation"]))
    assert gmacs == pytest.approx(entry["published_gmacs"], rel=tolerance)
    if name == "googlenet":
        assert gmacs < entry["published_gmacs"]  # the published count has non-conv ops too


@pytest.mark.parametrize("name", NAMES)
def test_total_params_match_the_published_figure(name, built):
    layers = built[name]
    params = sum(layer["params"] for layer in layers)
    entry = reference_nets.NETWORKS[name]
    if name in TORCHVISION_BN:
        # folded bias (1 per channel) -> batch norm weight and bias (2 per channel)
        assert params + sum(c["out_channels"] for c in _convs(layers)) == TORCHVISION_BN[name]
    elif name in TORCHVISION_PLAIN:
        assert params == TORCHVISION_PLAIN[name]
    elif name == "densenet121":
        # pre-activation batch norms: norm0 after conv0, one before every other conv (over its
        # input), norm5 before the classifier; convs have no bias
        convs = _convs(layers)
        bn_channels = convs[0]["out_channels"] + sum(c["in_channels"] for c in convs[1:]) \
            + layers[-1]["in_channels"]
        assert sum(_weights(c) for c in convs) + layers[-1]["params"] + 2 * bn_channels \
            == 7978856
    elif name == "mobilenet-v1":
        weights = sum(_weights(layer) for layer in layers)
        assert weights / 1e6 == pytest.approx(4.2, rel=0.02)  # the paper, weights only
        assert params / 1e6 == pytest.approx(entry["published_mparams"], rel=0.01)
    else:
        assert params / 1e6 == pytest.approx(entry["published_mparams"], rel=0.01)


def test_torchvision_googlenet_variant():
    """With its "5x5" branch a 3x3 conv (torchvision's known deviation) the same definition
    gives torchvision's googlenet: 1.50 GFLOPS (MACs) and 6624904 params (BN, no conv bias)."""
    layers = reference_nets._googlenet(five=3).layers
    assert sum(layer["macs"] for layer in layers) / 1e9 == pytest.approx(1.50, rel=0.03)
    params = sum(layer["params"] for layer in layers)
    assert params + sum(c["out_channels"] for c in _convs(layers)) == 6624904


@pytest.mark.parametrize("name", NAMES)
def test_layers_are_consistent(name, built):
    """Each record's output follows from its input, kernel, stride and padding; channels,
    params and MACs follow from its shapes; names are unique; the first layer reads the
    network input."""
    layers = built[name]
    assert layers[0]["input_shape"] == [1] + reference_nets.NETWORKS[name]["input"]
    assert len(set(layer["name"] for layer in layers)) == len(layers)
    for layer in layers:
        _, cin, h, w = layer["input_shape"]
        _, cout, ho, wo = layer["output_shape"]
        assert layer["input_shape"][0] == layer["output_shape"][0] == 1
        assert (layer["in_channels"], layer["out_channels"]) == (cin, cout)
        assert layer["module_path"] == layer["name"]
        assert layer["macs_output_grid"] == layer["macs"]
        if layer["kind"] == "Gemm":
            assert [h, w, ho, wo] == [1, 1, 1, 1]
            assert layer["groups"] == 1
            assert layer["params"] == cin * cout + cout and layer["macs"] == cin * cout
            continue
        assert layer["kind"] == "Conv"
        (kh, kw), (sh, sw) = layer["kernel"], layer["stride"]
        top, left, bottom, right = layer["pads"]
        assert max(top, bottom) < kh and max(left, right) < kw
        assert ho == (h + top + bottom - kh) // sh + 1, layer
        assert wo == (w + left + right - kw) // sw + 1, layer
        groups = layer["groups"]
        assert groups in (1, cin) and cin % groups == 0 and cout % groups == 0
        if groups > 1:
            assert cout == cin  # depthwise, multiplier 1
        taps = cin // groups * kh * kw
        assert layer["params"] == cout * taps + cout
        assert layer["macs"] == ho * wo * cout * taps


@pytest.mark.parametrize("name, maps", [
    ("ssd-mobilenet-v1", [19, 10, 5, 3, 2, 1]),
    ("ssd-mobilenet-v2", [19, 10, 5, 3, 2, 1]),
    ("ssd-resnet34", [50, 25, 13, 7, 3, 3]),  # 15130 default boxes
])
def test_ssd_heads(name, maps, built):
    heads = built[name][-12:]
    classes = 81 if name == "ssd-resnet34" else 91
    anchors = [4, 6, 6, 6, 4, 4] if name == "ssd-resnet34" else [3, 6, 6, 6, 6, 6]
    for index, (size, count) in enumerate(zip(maps, anchors)):
        box, cls = heads[2 * index], heads[2 * index + 1]
        assert box["output_shape"] == [1, count * 4, size, size]
        assert cls["output_shape"] == [1, count * classes, size, size]
    if name == "ssd-resnet34":
        assert sum(s * s * a for s, a in zip(maps, anchors)) == 15130


@pytest.mark.parametrize("name, outputs", [
    ("tiny-yolov3", {"conv2d_9": 13, "conv2d_12": 26}),
    ("yolov3", {"conv2d_58": 13, "conv2d_66": 26, "conv2d_74": 52}),
])
def test_yolo_outputs(name, outputs, built):
    by_name = dict((layer["name"], layer) for layer in built[name])
    for layer, size in outputs.items():
        assert by_name[layer]["output_shape"] == [1, 255, size, size]
    assert len(built[name]) == {"tiny-yolov3": 13, "yolov3": 75}[name]


@pytest.mark.parametrize("name, features", [
    ("resnet18", 512), ("resnet50", 2048), ("vgg19", 25088), ("mobilenet-v1", 1024),
    ("mobilenet-v2", 1280), ("inception-v4", 1536), ("googlenet", 1024), ("alexnet", 9216),
    ("densenet121", 1024)])
def test_classifier_inputs(name, features, built):
    """The first fully-connected layer's inputs (fc6 for VGG, classifier.1 for AlexNet)."""
    first = [layer for layer in built[name] if layer["kind"] == "Gemm"][0]
    assert first["in_channels"] == features
    assert built[name][-1]["output_shape"] == [1, 1000, 1, 1]


def test_asymmetric_and_depthwise_kernels(built):
    kernels = set(tuple(layer["kernel"]) for layer in built["inception-v4"])
    assert {(1, 7), (7, 1), (1, 3), (3, 1)} <= kernels
    depthwise = [layer for layer in built["mobilenet-v1"] if layer["groups"] > 1]
    assert len(depthwise) == 13
    assert all(layer["groups"] == layer["in_channels"] for layer in depthwise)
    # TF SAME padding at 300: the odd pixel goes to the bottom / right
    first = built["ssd-mobilenet-v1"][0]
    assert first["output_shape"] == [1, 32, 150, 150] and first["pads"] == [0, 0, 1, 1]


def _layer_fields():
    """The fields of edgec.models.layers.Layer, read from its source (that module needs torch)."""
    tree = ast.parse(open(os.path.join(ROOT, "edgec", "models", "layers.py")).read())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Layer":
            return [item.target.id for item in node.body if isinstance(item, ast.AnnAssign)]
    raise AssertionError("no Layer class in edgec/models/layers.py")


def test_records_have_the_layer_keys_and_feed_the_estimator(built):
    fields = _layer_fields()
    assert {"name", "macs", "params", "input_shape", "output_shape"} <= set(fields)
    params = cost_model.load_params()["params"]
    for name, layers in built.items():
        for layer in layers:
            assert set(fields) | {"groups", "pads"} == set(layer), (name, layer["name"])
            assert all(isinstance(layer[key], int) for key in ("params", "macs", "groups"))
        json.dumps(layers)
        for key in BY_KEY:
            times = cost_model.layer_times(layers, ["fp16"] * len(layers), key, params)
            assert len(times) == len(layers) and all(t["ms"] > 0 for t in times)
        row = cost_model.predict(layers, "agx-xavier", "fp16", params)
        assert row["status"] in ("ok", "does not fit")


def test_every_call_builds_fresh_records():
    first = reference_nets.network_layers("resnet18")
    first[0]["macs"] = -1
    first.pop()
    second = reference_nets.network_layers("resnet18")
    assert second[0]["macs"] > 0 and len(second) == 21


@pytest.mark.parametrize("bad", ["resnet-50", "ResNet50", "", "vgg", None, 50])
def test_unknown_names_raise_a_clear_error(bad):
    with pytest.raises(KeyError) as raised:
        reference_nets.network_layers(bad)
    assert isinstance(raised.value, ValueError)
    message = str(raised.value)
    assert "unknown reference network" in message and repr(bad) in message
    assert "resnet50" in message and "yolov3" in message  # lists the known names
    if bad == "resnet-50":
        assert "did you mean resnet50" in message


def test_module_needs_only_the_standard_library():
    """The layer costs are data: `edgec predict` and the fit read them without torch or onnx
    (a workstation module since edgec/latency, so Python 3.6 syntax is no longer required)."""
    tree = ast.parse(open(MODULE).read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"difflib", "collections", "typing"}
    vermin = shutil.which("vermin") or os.path.join(os.path.dirname(sys.executable), "vermin")
    if not os.path.exists(vermin):
        pytest.skip("vermin is not installed")
    result = subprocess.run([vermin, "--no-tips", "-t=3.6-", "--violations", MODULE],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    assert result.returncode == 0, result.stdout
