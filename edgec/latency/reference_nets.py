"""Per-layer costs of standard networks, from their published definitions, for fitting the Jetson
latency estimator (edgec/latency/cost_model.py, fitted by edgec/latency/fit.py) on public
benchmark figures of those networks.

No weights and no torch: each network is written out as its architecture table, with small
helpers that track the tensor shape through every layer. `network_layers(name)` gives the same
records as edgec.models.layers.Layer.to_dict() (batch 1) for every convolution and
fully-connected layer in definition order, plus two extra keys:
- "groups": 1 for an ordinary conv, the channel count for a depthwise conv;
- "pads": [top, left, bottom, right] padding of a conv (ONNX order; TF "SAME" padding can be
  asymmetric), [0, 0, 0, 0] for a fully-connected layer.
Pooling, activations, normalisation, upsampling, additions and concatenations are not layers.

Conventions:
- params = weights + one bias per output channel for every layer (batch norm counted as folded
  into the conv it follows, as TensorRT does), whether or not the framework's conv has a bias;
- macs = true multiply-accumulates (output pixels x output channels x input channels per group x
  kernel taps); macs_output_grid = macs (no transposed convs here);
- a fully-connected layer ("Gemm") has input_shape [1, features, 1, 1] and output_shape
  [1, outputs, 1, 1], kernel and stride [1, 1].

Variants (see NETWORKS[name]["definition"]): torchvision's for the ResNets (v1.5: stride in the
3x3 conv), VGG, AlexNet, SqueezeNet 1.1, DenseNet-121 and MobileNet-v2; the paper / BVLC Caffe
GoogLeNet (true 5x5 convs; torchvision's googlenet uses 3x3 there); TF-slim Inception-v4; the
TF Object Detection API SSD-MobileNets of the MLPerf / model zoo releases; MLPerf's SSD-ResNet34
1200x1200; Darknet's YOLOv3 and YOLOv3-tiny cfgs at 416x416.

Nothing was left out of the requested list. The least certain definition is ssd-mobilenet-v2:
the TF model zoo's ssd_mobilenet_v2_coco_2018_03_29 is taken to have depthwise-separable extra
layers and 3x3 box/class predictors (the current sample config; its parameter count, 16.8 M,
matches the one OpenVINO's model zoo lists for that release), while an older sample config had
plain 3x3 extra layers and 1x1 predictors.

Python 3.6 compatible, standard library only.
"""
import difflib
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union  # noqa: F401

Shape = Tuple[int, int, int]  # (channels, height, width) at batch 1
Size = Union[int, Sequence[int]]
Padding = Union[int, str, Sequence[int]]


class UnknownNetwork(KeyError, ValueError):
    """A name that is not one of network_names(); both a KeyError and a ValueError."""

    def __str__(self):
        # type: () -> str
        return str(self.args[0]) if self.args else ""


def _pair(value):
    # type: (Size) -> Tuple[int, int]
    if isinstance(value, int):
        return value, value
    first, second = value
    return int(first), int(second)


def _ceil_div(a, b):
    # type: (int, int) -> int
    return -(-a // b)


class _Net(object):
    """Collects layer records while the definition walks its tensors (C, H, W)."""

    def __init__(self):
        # type: () -> None
        self.layers = []  # type: List[Dict[str, Any]]

    def conv(self, name, x, cout, k, s=1, p=0, groups=1):
        # type: (str, Shape, int, Size, Size, Padding, int) -> Shape
        """A conv of x (C, H, W) to `cout` channels; kernel k, stride s, padding p: an int or
        (ph, pw) on both sides, or "same" for TensorFlow SAME padding (output = ceil(in / s),
        any odd pixel of padding at the bottom / right). groups=-1 means depthwise."""
        cin, h, w = x
        if groups == -1:
            groups = cin
        if cin % groups or cout % groups:
            raise ValueError("%s: %d -> %d channels do not split into %d groups"
                             % (name, cin, cout, groups))
        kh, kw = _pair(k)
        sh, sw = _pair(s)
        fixed = (0, 0) if p == "same" else _pair(p)  # type: ignore
        pads = []  # type: List[Tuple[int, int]]
        for size, kernel, stride, one in ((h, kh, sh, fixed[0]), (w, kw, sw, fixed[1])):
            if p == "same":
                total = max((_ceil_div(size, stride) - 1) * stride + kernel - size, 0)
                pads.append((total // 2, total - total // 2))
            else:
                pads.append((one, one))
        ho = (h + pads[0][0] + pads[0][1] - kh) // sh + 1
        wo = (w + pads[1][0] + pads[1][1] - kw) // sw + 1
        if ho < 1 or wo < 1:
            raise ValueError("%s: a %dx%d kernel does not fit a %dx%d input" % (name, kh, kw, h, w))
        per_position = cin // groups * kh * kw
        macs = ho * wo * cout * per_position
        self._add({"name": name, "module_path": name, "kind": "Conv", "in_channels": cin,
                   "out_channels": cout, "kernel": [kh, kw], "stride": [sh, sw],
                   "input_shape": [1, cin, h, w], "output_shape": [1, cout, ho, wo],
                   "params": cout * per_position + cout, "macs": macs, "macs_output_grid": macs,
                   "groups": groups,
                   "pads": [pads[0][0], pads[1][0], pads[0][1], pads[1][1]]})
        return cout, ho, wo

    def fc(self, name, x, out):
        # type: (str, Shape, int) -> Shape
        """A fully-connected layer on x flattened."""
        features = x[0] * x[1] * x[2]
        self._add({"name": name, "module_path": name, "kind": "Gemm", "in_channels": features,
                   "out_channels": out, "kernel": [1, 1], "stride": [1, 1],
                   "input_shape": [1, features, 1, 1], "output_shape": [1, out, 1, 1],
                   "params": features * out + out, "macs": features * out,
                   "macs_output_grid": features * out, "groups": 1, "pads": [0, 0, 0, 0]})
        return out, 1, 1

    def _add(self, layer):
        # type: (Dict[str, Any]) -> None
        if any(other["name"] == layer["name"] for other in self.layers):
            raise ValueError("layer name %r is used twice" % layer["name"])
        self.layers.append(layer)


def pool(x, k, s, p=0, ceil=False):
    # type: (Shape, Size, Size, Padding, bool) -> Shape
    """Max or average pooling (no layer record): the shape it leaves. p as for _Net.conv."""
    c, h, w = x
    kh, kw = _pair(k)
    sh, sw = _pair(s)
    fixed = (0, 0) if p == "same" else _pair(p)  # type: ignore
    out = []
    for size, kernel, stride, pad in ((h, kh, sh, fixed[0]), (w, kw, sw, fixed[1])):
        if p == "same":
            out.append(_ceil_div(size, stride))
            continue
        span = size + 2 * pad - kernel
        steps = _ceil_div(span, stride) if ceil else span // stride
        if ceil and steps * stride >= size + pad:
            steps -= 1  # the last window must start inside the input (Caffe, PyTorch)
        out.append(steps + 1)
    return c, out[0], out[1]


def global_pool(x):
    # type: (Shape) -> Shape
    return x[0], 1, 1


def concat(*xs):
    # type: (Shape) -> Shape
    if len(set((x[1], x[2]) for x in xs)) != 1:
        raise ValueError("concatenating tensors of different sizes: %s" % (xs,))
    return sum(x[0] for x in xs), xs[0][1], xs[0][2]


def upsample(x, factor):
    # type: (Shape, int) -> Shape
    return x[0], x[1] * factor, x[2] * factor


# -- classification networks ------------------------------------------------------------------

def _resnet(depths, bottleneck, n=None, x=None, stage3_stride=2, stages=4, classes=1000,
            prefix=""):
    # type: (Sequence[int], bool, Optional[_Net], Optional[Shape], int, int, int, str) -> Tuple[_Net, Shape]  # noqa: E501
    """torchvision's ResNet (v1.5 bottlenecks: the stride sits in the 3x3 conv). With
    stages < 4 it stops after that many stages and has no classifier (a detection backbone)."""
    n = n or _Net()
    x = x or (3, 224, 224)
    x = n.conv(prefix + "conv1", x, 64, 7, 2, 3)
    x = pool(x, 3, 2, 1)
    widths = (64, 128, 256, 512)
    for stage in range(stages):
        width = widths[stage]
        out = width * 4 if bottleneck else width
        for block in range(depths[stage]):
            stride = 1
            if block == 0 and stage > 0:
                stride = stage3_stride if stage == 2 else 2
            path = "%slayer%d.%d." % (prefix, stage + 1, block)
            if bottleneck:
                y = n.conv(path + "conv1", x, width, 1)
                y = n.conv(path + "conv2", y, width, 3, stride, 1)
                y = n.conv(path + "conv3", y, out, 1)
            else:
                y = n.conv(path + "conv1", x, width, 3, stride, 1)
                y = n.conv(path + "conv2", y, width, 3, 1, 1)
            if stride != 1 or x[0] != out:
                n.conv(path + "downsample.0", x, out, 1, stride)
            x = y
    if stages == 4:
        n.fc(prefix + "fc", global_pool(x), classes)
    return n, x


def _vgg(config):
    # type: (Sequence[Any]) -> _Net
    """VGG (Simonyan & Zisserman 2014), configuration D (16) or E (19), no batch norm."""
    n = _Net()
    x = (3, 224, 224)  # type: Shape
    block, index = 1, 1
    for item in config:
        if item == "M":
            x = pool(x, 2, 2)
            block, index = block + 1, 1
            continue
        x = n.conv("conv%d_%d" % (block, index), x, item, 3, 1, 1)
        index += 1
    x = n.fc("fc6", x, 4096)  # 512 x 7 x 7 = 25088 inputs
    x = n.fc("fc7", x, 4096)
    n.fc("fc8", x, 1000)
    return n


VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
VGG19 = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"]


def _alexnet():
    # type: () -> _Net
    """torchvision's AlexNet (the one-GPU variant of Krizhevsky 2014, 64/192/384/256/256)."""
    n = _Net()
    x = n.conv("features.0", (3, 224, 224), 64, 11, 4, 2)  # 55
    x = pool(x, 3, 2)  # 27
    x = n.conv("features.3", x, 192, 5, 1, 2)
    x = pool(x, 3, 2)  # 13
    x = n.conv("features.6", x, 384, 3, 1, 1)
    x = n.conv("features.8", x, 256, 3, 1, 1)
    x = n.conv("features.10", x, 256, 3, 1, 1)
    x = pool(x, 3, 2)  # 6 (the adaptive average pool to 6x6 is then the identity)
    x = n.fc("classifier.1", x, 4096)
    x = n.fc("classifier.4", x, 4096)
    n.fc("classifier.6", x, 1000)
    return n


def _squeezenet11():
    # type: () -> _Net
    """SqueezeNet 1.1 (Iandola et al., torchvision): Fire = 1x1 squeeze, then 1x1 and 3x3
    expands concatenated; the classifier is a 1x1 conv to 1000 classes and a global pool."""
    n = _Net()

    def fire(index, x, squeeze, expand):
        # type: (int, Shape, int, int) -> Shape
        path = "features.%d." % index
        s = n.conv(path + "squeeze", x, squeeze, 1)
        return concat(n.conv(path + "expand1x1", s, expand, 1),
                      n.conv(path + "expand3x3", s, expand, 3, 1, 1))

    x = n.conv("features.0", (3, 224, 224), 64, 3, 2)  # 111
    x = pool(x, 3, 2, ceil=True)  # 55
    x = fire(3, x, 16, 64)
    x = fire(4, x, 16, 64)
    x = pool(x, 3, 2, ceil=True)  # 27
    x = fire(6, x, 32, 128)
    x = fire(7, x, 32, 128)
    x = pool(x, 3, 2, ceil=True)  # 13
    x = fire(9, x, 48, 192)
    x = fire(10, x, 48, 192)
    x = fire(11, x, 64, 256)
    x = fire(12, x, 64, 256)
    n.conv("classifier.1", x, 1000, 1)
    return n


def _densenet121():
    # type: () -> _Net
    """DenseNet-121 (Huang et al. 2017, torchvision): growth 32, blocks (6, 12, 24, 16),
    bottleneck 1x1 to 128 channels then 3x3 to 32; transitions halve the channels and pool 2x2."""
    n = _Net()
    x = n.conv("features.conv0", (3, 224, 224), 64, 7, 2, 3)
    x = pool(x, 3, 2, 1)  # 56
    for block, layers in enumerate((6, 12, 24, 16)):
        for layer in range(layers):
            path = "features.denseblock%d.denselayer%d." % (block + 1, layer + 1)
            y = n.conv(path + "conv1", x, 128, 1)
            y = n.conv(path + "conv2", y, 32, 3, 1, 1)
            x = concat(x, y)
        if block < 3:
            x = n.conv("features.transition%d.conv" % (block + 1), x, x[0] // 2, 1)
            x = pool(x, 2, 2)
    n.fc("classifier", global_pool(x), 1000)
    return n


def _mobilenet_v1_body(n, x, padding):
    # type: (_Net, Shape, Padding) -> Dict[str, Shape]
    """MobileNet-v1 (Howard et al. 2017, Table 1), width 1.0: a 3x3 stride-2 conv, then 13
    depthwise 3x3 + pointwise 1x1 pairs. Returns the pointwise outputs by TF-slim name."""
    ends = {}  # type: Dict[str, Shape]
    x = n.conv("Conv2d_0", x, 32, 3, 2, padding)
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
            (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]
    for index, (cout, stride) in enumerate(plan):
        x = n.conv("Conv2d_%d_depthwise" % (index + 1), x, x[0], 3, stride, padding, groups=-1)
        x = n.conv("Conv2d_%d_pointwise" % (index + 1), x, cout, 1)
        ends["Conv2d_%d_pointwise" % (index + 1)] = x
    return ends


def _mobilenet_v1():
    # type: () -> _Net
    n = _Net()
    ends = _mobilenet_v1_body(n, (3, 224, 224), "same")
    n.fc("Logits", global_pool(ends["Conv2d_13_pointwise"]), 1000)
    return n


# (expansion t, output channels c, repeats n, first stride s), MobileNetV2 paper Table 2
MOBILENET_V2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]


def _mobilenet_v2_body(n, x, padding):
    # type: (_Net, Shape, Padding) -> Dict[str, Shape]
    """MobileNet-v2 (Sandler et al. 2018), width 1.0, TF-slim layer names: a 3x3 stride-2 conv
    to 32, the inverted residual blocks (1x1 expand unless t = 1, 3x3 depthwise with the stride,
    1x1 linear projection), a 1x1 conv to 1280. Returns the outputs the SSD heads use."""
    ends = {}  # type: Dict[str, Shape]
    x = n.conv("Conv", x, 32, 3, 2, padding)
    block = 0
    for t, c, repeats, first_stride in MOBILENET_V2:
        for index in range(repeats):
            path = "expanded_conv" + ("_%d" % block if block else "") + "/"
            y = x
            if t != 1:
                y = n.conv(path + "expand", y, x[0] * t, 1)
                ends[path + "expand"] = y
            y = n.conv(path + "depthwise", y, y[0], 3, first_stride if index == 0 else 1,
                       padding, groups=-1)
            x = n.conv(path + "project", y, c, 1)
            block += 1
    ends["Conv_1"] = n.conv("Conv_1", x, 1280, 1)
    return ends


def _mobilenet_v2():
    # type: () -> _Net
    n = _Net()
    ends = _mobilenet_v2_body(n, (3, 224, 224), 1)
    n.fc("Logits", global_pool(ends["Conv_1"]), 1000)
    return n


# Inception v1 modules, GoogLeNet paper Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5,
# pool proj
GOOGLENET = OrderedDict([
    ("3a", (64, 96, 128, 16, 32, 32)), ("3b", (128, 128, 192, 32, 96, 64)), ("pool", None),
    ("4a", (192, 96, 208, 16, 48, 64)), ("4b", (160, 112, 224, 24, 64, 64)),
    ("4c", (128, 128, 256, 24, 64, 64)), ("4d", (112, 144, 288, 32, 64, 64)),
    ("4e", (256, 160, 320, 32, 128, 128)), ("pool4", None),
    ("5a", (256, 160, 320, 32, 128, 128)), ("5b", (384, 192, 384, 48, 128, 128))])


def _googlenet(five=5):
    # type: (int) -> _Net
    """GoogLeNet (Szegedy et al. 2015, Table 1; BVLC Caffe deploy layer names), inference only
    (no auxiliary classifiers), ceil-mode pooling as in Caffe. five=3 gives torchvision's
    variant, whose "5x5" branch is a 3x3 conv."""
    n = _Net()
    x = n.conv("conv1/7x7_s2", (3, 224, 224), 64, 7, 2, 3)  # 112
    x = pool(x, 3, 2, ceil=True)  # 56
    x = n.conv("conv2/3x3_reduce", x, 64, 1)
    x = n.conv("conv2/3x3", x, 192, 3, 1, 1)
    x = pool(x, 3, 2, ceil=True)  # 28
    for key, spec in GOOGLENET.items():
        if spec is None:
            x = pool(x, 3, 2, ceil=True)
            continue
        one, r3, c3, r5, c5, proj = spec
        path = "inception_%s/" % key
        b1 = n.conv(path + "1x1", x, one, 1)
        b2 = n.conv(path + "3x3", n.conv(path + "3x3_reduce", x, r3, 1), c3, 3, 1, 1)
        b3 = n.conv(path + "5x5", n.conv(path + "5x5_reduce", x, r5, 1), c5, five, 1, five // 2)
        b4 = n.conv(path + "pool_proj", pool(x, 3, 1, 1, ceil=True), proj, 1)
        x = concat(b1, b2, b3, b4)
    n.fc("loss3/classifier", global_pool(x), 1000)
    return n


def _inception_v4():
    # type: () -> _Net
    """Inception-v4 (Szegedy et al. 2016, Figures 3-9; TF-slim layer names and asymmetric kernel
    orientation): "V" convs unpadded, the others SAME. 1x7 is 1 high and 7 wide."""
    n = _Net()
    same, valid = "same", 0

    def c(name, x, cout, k, s=1, p=same):
        # type: (str, Shape, int, Size, int, Padding) -> Shape
        return n.conv(name, x, cout, k, s, p)

    x = c("Conv2d_1a_3x3", (3, 299, 299), 32, 3, 2, valid)  # 149
    x = c("Conv2d_2a_3x3", x, 32, 3, 1, valid)  # 147
    x = c("Conv2d_2b_3x3", x, 64, 3)  # 147
    x = concat(pool(x, 3, 2), c("Mixed_3a/Branch_1/Conv2d_0a_3x3", x, 96, 3, 2, valid))  # 73
    a = c("Mixed_4a/Branch_0/Conv2d_0a_1x1", x, 64, 1)
    a = c("Mixed_4a/Branch_0/Conv2d_1a_3x3", a, 96, 3, 1, valid)
    b = c("Mixed_4a/Branch_1/Conv2d_0a_1x1", x, 64, 1)
    b = c("Mixed_4a/Branch_1/Conv2d_0b_1x7", b, 64, (1, 7))
    b = c("Mixed_4a/Branch_1/Conv2d_0c_7x1", b, 64, (7, 1))
    b = c("Mixed_4a/Branch_1/Conv2d_1a_3x3", b, 96, 3, 1, valid)
    x = concat(a, b)  # 71 x 71 x 192
    x = concat(c("Mixed_5a/Branch_0/Conv2d_1a_3x3", x, 192, 3, 2, valid), pool(x, 3, 2))  # 35
    for block in "bcde":  # Inception-A
        p = "Mixed_5%s/" % block
        b0 = c(p + "Branch_0/Conv2d_0a_1x1", x, 96, 1)
        b1 = c(p + "Branch_1/Conv2d_0b_3x3", c(p + "Branch_1/Conv2d_0a_1x1", x, 64, 1), 96, 3)
        b2 = c(p + "Branch_2/Conv2d_0a_1x1", x, 64, 1)
        b2 = c(p + "Branch_2/Conv2d_0c_3x3", c(p + "Branch_2/Conv2d_0b_3x3", b2, 96, 3), 96, 3)
        b3 = c(p + "Branch_3/Conv2d_0b_1x1", pool(x, 3, 1, same), 96, 1)
        x = concat(b0, b1, b2, b3)  # 35 x 35 x 384
    p = "Mixed_6a/"  # Reduction-A, k, l, m, n = 192, 224, 256, 384
    b0 = c(p + "Branch_0/Conv2d_1a_3x3", x, 384, 3, 2, valid)
    b1 = c(p + "Branch_1/Conv2d_0b_3x3", c(p + "Branch_1/Conv2d_0a_1x1", x, 192, 1), 224, 3)
    b1 = c(p + "Branch_1/Conv2d_1a_3x3", b1, 256, 3, 2, valid)
    x = concat(b0, b1, pool(x, 3, 2))  # 17 x 17 x 1024
    for block in "bcdefgh":  # Inception-B
        p = "Mixed_6%s/" % block
        b0 = c(p + "Branch_0/Conv2d_0a_1x1", x, 384, 1)
        b1 = c(p + "Branch_1/Conv2d_0a_1x1", x, 192, 1)
        b1 = c(p + "Branch_1/Conv2d_0b_1x7", b1, 224, (1, 7))
        b1 = c(p + "Branch_1/Conv2d_0c_7x1", b1, 256, (7, 1))
        b2 = c(p + "Branch_2/Conv2d_0a_1x1", x, 192, 1)
        b2 = c(p + "Branch_2/Conv2d_0b_7x1", b2, 192, (7, 1))
        b2 = c(p + "Branch_2/Conv2d_0c_1x7", b2, 224, (1, 7))
        b2 = c(p + "Branch_2/Conv2d_0d_7x1", b2, 224, (7, 1))
        b2 = c(p + "Branch_2/Conv2d_0e_1x7", b2, 256, (1, 7))
        b3 = c(p + "Branch_3/Conv2d_0b_1x1", pool(x, 3, 1, same), 128, 1)
        x = concat(b0, b1, b2, b3)  # 17 x 17 x 1024
    p = "Mixed_7a/"  # Reduction-B
    b0 = c(p + "Branch_0/Conv2d_0a_1x1", x, 192, 1)
    b0 = c(p + "Branch_0/Conv2d_1a_3x3", b0, 192, 3, 2, valid)
    b1 = c(p + "Branch_1/Conv2d_0a_1x1", x, 256, 1)
    b1 = c(p + "Branch_1/Conv2d_0b_1x7", b1, 256, (1, 7))
    b1 = c(p + "Branch_1/Conv2d_0c_7x1", b1, 320, (7, 1))
    b1 = c(p + "Branch_1/Conv2d_1a_3x3", b1, 320, 3, 2, valid)
    x = concat(b0, b1, pool(x, 3, 2))  # 8 x 8 x 1536
    for block in "bcd":  # Inception-C
        p = "Mixed_7%s/" % block
        b0 = c(p + "Branch_0/Conv2d_0a_1x1", x, 256, 1)
        b1 = c(p + "Branch_1/Conv2d_0a_1x1", x, 384, 1)
        b1 = concat(c(p + "Branch_1/Conv2d_0b_1x3", b1, 256, (1, 3)),
                    c(p + "Branch_1/Conv2d_0c_3x1", b1, 256, (3, 1)))
        b2 = c(p + "Branch_2/Conv2d_0a_1x1", x, 384, 1)
        b2 = c(p + "Branch_2/Conv2d_0b_3x1", b2, 448, (3, 1))
        b2 = c(p + "Branch_2/Conv2d_0c_1x3", b2, 512, (1, 3))
        b2 = concat(c(p + "Branch_2/Conv2d_0d_1x3", b2, 256, (1, 3)),
                    c(p + "Branch_2/Conv2d_0e_3x1", b2, 256, (3, 1)))
        b3 = c(p + "Branch_3/Conv2d_0b_1x1", pool(x, 3, 1, same), 256, 1)
        x = concat(b0, b1, b2, b3)  # 8 x 8 x 1536
    n.fc("Logits", global_pool(x), 1000)
    return n


# -- detection networks -----------------------------------------------------------------------

def _ssd_heads(n, features, anchors, classes, kernel, stride=1, padding="same",
               names=("BoxPredictor_%d/BoxEncodingPredictor", "BoxPredictor_%d/ClassPredictor")):
    # type: (_Net, List[Shape], Sequence[int], int, int, int, Padding, Tuple[str, str]) -> None
    """Per feature map: a box conv (anchors x 4) and a class conv (anchors x classes)."""
    for index, (x, count) in enumerate(zip(features, anchors)):
        n.conv(names[0] % index, x, count * 4, kernel, stride, padding)
        n.conv(names[1] % index, x, count * classes, kernel, stride, padding)


def _ssd_mobilenet_v1():
    # type: () -> _Net
    """TF OD API ssd_mobilenet_v1_coco (MLPerf Inference's SSD-MobileNet-v1): MobileNet-v1 at
    300x300 (SAME padding), heads on Conv2d_11 (19x19x512) and Conv2d_13 (10x10x1024) and four
    extra layers (1x1 to d/2, 3x3 stride 2 to d; d = 512, 256, 256, 128), 1x1 box and class
    predictors, 3 anchors on the first map and 6 elsewhere, 91 classes."""
    n = _Net()
    ends = _mobilenet_v1_body(n, (3, 300, 300), "same")
    features = [ends["Conv2d_11_pointwise"], ends["Conv2d_13_pointwise"]]
    x = features[-1]
    for index, depth in enumerate((512, 256, 256, 128)):
        y = n.conv("Conv2d_13_pointwise_1_Conv2d_%d_1x1_%d" % (index + 2, depth // 2), x,
                   depth // 2, 1)
        x = n.conv("Conv2d_13_pointwise_2_Conv2d_%d_3x3_s2_%d" % (index + 2, depth), y, depth,
                   3, 2, "same")
        features.append(x)
    _ssd_heads(n, features, (3, 6, 6, 6, 6, 6), 91, 1)
    return n


def _ssd_mobilenet_v2():
    # type: () -> _Net
    """TF OD API ssd_mobilenet_v2_coco (2018_03_29): MobileNet-v2 at 300x300, heads on
    layer_15's expansion (expanded_conv_13/expand, 19x19x576) and layer_19 (Conv_1, 10x10x1280)
    and four extra layers (1x1 to d/2, then depthwise 3x3 stride 2 and 1x1 to d; d = 512, 256,
    256, 128), 3x3 box and class predictors, anchors 3 then 6, 91 classes."""
    n = _Net()
    ends = _mobilenet_v2_body(n, (3, 300, 300), "same")
    features = [ends["expanded_conv_13/expand"], ends["Conv_1"]]
    x = features[-1]
    for index, depth in enumerate((512, 256, 256, 128)):
        stem = "layer_19_2_Conv2d_%d_3x3_s2_%d" % (index + 2, depth)
        y = n.conv("layer_19_1_Conv2d_%d_1x1_%d" % (index + 2, depth // 2), x, depth // 2, 1)
        y = n.conv(stem + "_depthwise", y, y[0], 3, 2, "same", groups=-1)
        x = n.conv(stem, y, depth, 1)
        features.append(x)
    _ssd_heads(n, features, (3, 6, 6, 6, 6, 6), 91, 3)
    return n


def _ssd_resnet34():
    # type: () -> _Net
    """MLPerf Inference SSD-ResNet34 at 1200x1200: torchvision ResNet-34 through layer3, layer3
    not strided (150x150x256), five extra blocks (1x1, then 3x3: stride 2 pad 1 to 512, 512,
    256; stride 2 unpadded to 256; stride 1 unpadded to 256), and 3x3 stride-3 pad-1 box and
    class convs (4, 6, 6, 6, 4, 4 anchors; 81 classes) on maps 50, 25, 13, 7, 3, 3."""
    n, x = _resnet((3, 4, 6), False, x=(3, 1200, 1200), stage3_stride=1, stages=3,
                   prefix="backbone.")
    features = [x]
    extras = [(256, 512, 2, 1), (256, 512, 2, 1), (128, 256, 2, 1), (128, 256, 2, 0),
              (128, 256, 1, 0)]
    for index, (mid, out, stride, padding) in enumerate(extras):
        y = n.conv("additional_blocks.%d.0" % index, x, mid, 1)
        x = n.conv("additional_blocks.%d.2" % index, y, out, 3, stride, padding)
        features.append(x)
    _ssd_heads(n, features, (4, 6, 6, 6, 4, 4), 81, 3, 3, 1, ("loc.%d", "conf.%d"))
    return n


class _Darknet(object):
    """Darknet cfg convs (pad = size // 2) named conv2d_N in order, as Keras ports name them."""

    def __init__(self):
        # type: () -> None
        self.net = _Net()

    def conv(self, x, filters, size, stride=1):
        # type: (Shape, int, int, int) -> Shape
        return self.net.conv("conv2d_%d" % len(self.net.layers), x, filters, size, stride,
                             size // 2)


def _darknet_pool(x, size, stride):
    # type: (Shape, int, int) -> Shape
    """Darknet's maxpool pads size - 1 pixels in all (so size 2 stride 1 keeps the size)."""
    c, h, w = x
    return c, (h + size - 1 - size) // stride + 1, (w + size - 1 - size) // stride + 1


def _yolov3_tiny():
    # type: () -> _Net
    """Darknet yolov3-tiny.cfg at 416x416, 80 classes (3 anchors x 85 outputs per scale)."""
    d = _Darknet()
    x = (3, 416, 416)  # type: Shape
    for filters in (16, 32, 64, 128):
        x = _darknet_pool(d.conv(x, filters, 3), 2, 2)
    route = d.conv(x, 256, 3)  # 26 x 26
    x = _darknet_pool(route, 2, 2)
    x = _darknet_pool(d.conv(x, 512, 3), 2, 1)  # 13 x 13
    x = d.conv(x, 1024, 3)
    branch = d.conv(x, 256, 1)
    d.conv(d.conv(branch, 512, 3), 255, 1)  # yolo, 13 x 13
    x = concat(upsample(d.conv(branch, 128, 1), 2), route)
    d.conv(d.conv(x, 256, 3), 255, 1)  # yolo, 26 x 26
    return d.net


def _yolov3():
    # type: () -> _Net
    """Darknet yolov3.cfg at 416x416: Darknet-53 (52 convs) and three detection scales,
    80 classes."""
    d = _Darknet()
    x = d.conv((3, 416, 416), 32, 3)
    routes = []
    for filters, blocks in ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)):
        x = d.conv(x, filters, 3, 2)
        for _ in range(blocks):
            x = d.conv(d.conv(x, filters // 2, 1), filters, 3)  # + shortcut
        routes.append(x)
    for scale, filters in enumerate((512, 256, 128)):
        if scale:
            x = concat(upsample(d.conv(x, filters, 1), 2), routes[4 - scale])
        for _ in range(2):
            x = d.conv(d.conv(x, filters, 1), filters * 2, 3)
        x = d.conv(x, filters, 1)  # the branch point for the next scale
        d.conv(d.conv(x, filters * 2, 3), 255, 1)  # yolo
    return d.net


# -- registry ---------------------------------------------------------------------------------

_TV = "torchvision model docs, %s weights meta: %s GFLOPS (torchvision's GFLOPS are MACs)"
_OMZ = ("OpenVINO Open Model Zoo, models/public/%s: %s GFLOPs / 2 (its FLOPs count 2 per MAC "
        "and include pooling, normalisation and element-wise ops)")


def _entry(build, shape, definition, gmacs=None, gmacs_citation=None, mparams=None,
           mparams_citation=None):
    # type: (Callable[[], _Net], Sequence[int], str, Optional[float], Optional[str], Optional[float], Optional[str]) -> Dict[str, Any]  # noqa: E501
    return {"build": build, "input": list(shape), "definition": definition,
            "published_gmacs": gmacs, "gmacs_citation": gmacs_citation,
            "published_mparams": mparams, "mparams_citation": mparams_citation}


NETWORKS = OrderedDict([
    ("resnet18", _entry(
        lambda: _resnet((2, 2, 2, 2), False)[0], (3, 224, 224),
        "ResNet-18 (He et al. 2016, torchvision), 224x224, 1000 classes",
        1.81, _TV % ("ResNet18_Weights.IMAGENET1K_V1", "1.81"), 11.689512,
        "torchvision num_params 11689512 (conv weights, BN weight and bias, fc)")),
    ("resnet34", _entry(
        lambda: _resnet((3, 4, 6, 3), False)[0], (3, 224, 224),
        "ResNet-34 (He et al. 2016, torchvision), 224x224, 1000 classes",
        3.66, _TV % ("ResNet34_Weights.IMAGENET1K_V1", "3.66"), 21.797672,
        "torchvision num_params 21797672 (conv weights, BN weight and bias, fc)")),
    ("resnet50", _entry(
        lambda: _resnet((3, 4, 6, 3), True)[0], (3, 224, 224),
        "ResNet-50 v1.5 (torchvision: stride 2 in the 3x3 conv), 224x224, 1000 classes",
        4.09, _TV % ("ResNet50_Weights.IMAGENET1K_V1", "4.09"), 25.557032,
        "torchvision num_params 25557032 (conv weights, BN weight and bias, fc)")),
    ("resnet101", _entry(
        lambda: _resnet((3, 4, 23, 3), True)[0], (3, 224, 224),
        "ResNet-101 v1.5 (torchvision: stride 2 in the 3x3 conv), 224x224, 1000 classes",
        7.80, _TV % ("ResNet101_Weights.IMAGENET1K_V1", "7.8"), 44.549160,
        "torchvision num_params 44549160 (conv weights, BN weight and bias, fc)")),
    ("resnet152", _entry(
        lambda: _resnet((3, 8, 36, 3), True)[0], (3, 224, 224),
        "ResNet-152 v1.5 (torchvision: stride 2 in the 3x3 conv), 224x224, 1000 classes",
        11.51, _TV % ("ResNet152_Weights.IMAGENET1K_V1", "11.51"), 60.192808,
        "torchvision num_params 60192808 (conv weights, BN weight and bias, fc)")),
    ("vgg16", _entry(
        lambda: _vgg(VGG16), (3, 224, 224),
        "VGG-16 (Simonyan & Zisserman 2014, configuration D, torchvision, no BN), 224x224, "
        "fc6-fc8, 1000 classes",
        15.47, _TV % ("VGG16_Weights.IMAGENET1K_V1", "15.47"), 138.357544,
        "torchvision num_params 138357544")),
    ("vgg19", _entry(
        lambda: _vgg(VGG19), (3, 224, 224),
        "VGG-19 (Simonyan & Zisserman 2014, configuration E, torchvision, no BN), 224x224, "
        "fc6-fc8, 1000 classes",
        19.63, _TV % ("VGG19_Weights.IMAGENET1K_V1", "19.63"), 143.667240,
        "torchvision num_params 143667240")),
    ("mobilenet-v1", _entry(
        _mobilenet_v1, (3, 224, 224),
        "MobileNet-v1 1.0 (Howard et al. 2017, Table 1), 224x224, TF SAME padding, "
        "1000 classes",
        0.569, "Howard et al. 2017 (arXiv:1704.04861), 1.0 MobileNet-224: 569 million "
        "mult-adds", 4.221, "OpenVINO Open Model Zoo mobilenet-v1-1.0-224 (Caffe, BN folded to "
        "biases): 4.221 MParams; Howard et al. 2017: 4.2 million (weights)")),
    ("mobilenet-v2", _entry(
        _mobilenet_v2, (3, 224, 224),
        "MobileNet-v2 1.0 (Sandler et al. 2018, Table 2; torchvision), 224x224, 1000 classes",
        0.30, _TV % ("MobileNet_V2_Weights.IMAGENET1K_V1", "0.30"), 3.504872,
        "torchvision num_params 3504872 (conv weights, BN weight and bias, fc)")),
    ("inception-v4", _entry(
        _inception_v4, (3, 299, 299),
        "Inception-v4 (Szegedy et al. 2016, TF-slim), 299x299, asymmetric 1x7/7x1 and 1x3/3x1 "
        "convs, 1000 classes (TF-slim has 1001)",
        12.292, _OMZ % ("googlenet-v4-tf", "24.584"), 42.648,
        "OpenVINO Open Model Zoo googlenet-v4-tf: 42.648 MParams (BN folded to biases, "
        "1001 classes)")),
    ("googlenet", _entry(
        _googlenet, (3, 224, 224),
        "GoogLeNet / Inception v1 (Szegedy et al. 2015, Table 1; BVLC Caffe), 224x224, true 5x5 "
        "convs, no auxiliary classifiers, 1000 classes",
        1.633, _OMZ % ("googlenet-v1 (BVLC Caffe)", "3.266"), 6.999,
        "OpenVINO Open Model Zoo googlenet-v1: 6.999 MParams (Caffe convs with biases)")),
    ("alexnet", _entry(
        _alexnet, (3, 224, 224),
        "AlexNet (torchvision's one-GPU variant: 64/192/384/256/256 filters), 224x224, "
        "1000 classes",
        0.71, _TV % ("AlexNet_Weights.IMAGENET1K_V1", "0.71"), 61.100840,
        "torchvision num_params 61100840")),
    ("squeezenet1.1", _entry(
        _squeezenet11, (3, 224, 224),
        "SqueezeNet 1.1 (Iandola et al., torchvision squeezenet1_1), 224x224, 1000 classes",
        0.35, _TV % ("SqueezeNet1_1_Weights.IMAGENET1K_V1", "0.35"), 1.235496,
        "torchvision num_params 1235496")),
    ("densenet121", _entry(
        _densenet121, (3, 224, 224),
        "DenseNet-121 (Huang et al. 2017, torchvision: growth 32, blocks 6/12/24/16), "
        "224x224, 1000 classes",
        2.83, _TV % ("DenseNet121_Weights.IMAGENET1K_V1", "2.83"), 7.978856,
        "torchvision num_params 7978856 (conv weights, BN weight and bias, classifier)")),
    ("ssd-mobilenet-v1", _entry(
        _ssd_mobilenet_v1, (3, 300, 300),
        "SSD-MobileNet-v1 (TF OD API ssd_mobilenet_v1_coco, as in MLPerf Inference), 300x300, "
        "4 extra layers, 1x1 predictors, 3/6 anchors, 91 classes",
        1.247, _OMZ % ("ssd_mobilenet_v1_coco", "2.494"), 6.807,
        "OpenVINO Open Model Zoo ssd_mobilenet_v1_coco: 6.807 MParams")),
    ("ssd-mobilenet-v2", _entry(
        _ssd_mobilenet_v2, (3, 300, 300),
        "SSD-MobileNet-v2 (TF OD API ssd_mobilenet_v2_coco_2018_03_29), 300x300, depthwise "
        "extra layers, 3x3 predictors, 3/6 anchors, 91 classes",
        1.8875, _OMZ % ("ssd_mobilenet_v2_coco (2018_03_29 release)", "3.775"), 16.818,
        "OpenVINO Open Model Zoo ssd_mobilenet_v2_coco: 16.818 MParams")),
    ("ssd-resnet34", _entry(
        _ssd_resnet34, (3, 1200, 1200),
        "SSD-ResNet34 (MLPerf Inference, 1200x1200, unstrided layer3, stride-3 heads), "
        "81 classes",
        216.706, _OMZ % ("ssd-resnet34-1200-onnx (MLPerf's ONNX model)", "433.411"), 20.058,
        "OpenVINO Open Model Zoo ssd-resnet34-1200-onnx: 20.058 MParams")),
    ("tiny-yolov3", _entry(
        _yolov3_tiny, (3, 416, 416),
        "YOLOv3-tiny (Darknet yolov3-tiny.cfg), 416x416, 80 classes",
        2.78, "pjreddie.com/darknet/yolo (YOLOv3 README table): YOLOv3-tiny 5.56 Bn FLOPS "
        "(Darknet counts 2 per MAC, convs only)", 8.848,
        "OpenVINO Open Model Zoo yolo-v3-tiny-tf: 8.848 MParams")),
    ("yolov3", _entry(
        _yolov3, (3, 416, 416),
        "YOLOv3 (Darknet yolov3.cfg: Darknet-53 and 3 scales), 416x416, 80 classes",
        32.93, "pjreddie.com/darknet/yolo (YOLOv3 README table): YOLOv3-416 65.86 Bn FLOPS "
        "(Darknet counts 2 per MAC, convs only)", 61.922,
        "OpenVINO Open Model Zoo yolo-v3-tf: 61.922 MParams")),
])


def network_names():
    # type: () -> List[str]
    return list(NETWORKS)


def network_layers(name):
    # type: (str) -> List[Dict[str, Any]]
    """Every conv and fully-connected layer of the named network, in definition order, as
    layer records (fresh dicts on every call)."""
    if not isinstance(name, str) or name not in NETWORKS:
        close = difflib.get_close_matches(str(name), list(NETWORKS), n=3)
        raise UnknownNetwork("unknown reference network %r%s; known: %s"
                             % (name, " (did you mean %s?)" % ", ".join(close) if close else "",
                                ", ".join(NETWORKS)))
    return NETWORKS[name]["build"]().layers


def totals(name):
    # type: (str) -> Dict[str, Any]
    """Total MACs and params of a network and how they compare with its published figures."""
    layers = network_layers(name)
    entry = NETWORKS[name]
    macs = sum(layer["macs"] for layer in layers)
    params = sum(layer["params"] for layer in layers)
    row = {"name": name, "layers": len(layers), "gmacs": macs / 1e9, "mparams": params / 1e6,
           "published_gmacs": entry["published_gmacs"],
           "published_mparams": entry["published_mparams"]}  # type: Dict[str, Any]
    if entry["published_gmacs"]:
        row["gmacs_ratio"] = row["gmacs"] / entry["published_gmacs"]
    return row
