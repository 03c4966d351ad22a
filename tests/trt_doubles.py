"""Recording test doubles of the `tensorrt` Python module, one per TensorRT version edgec targets.

`make_tensorrt("8.5", dla_cores=0)` returns a module object that tests put in
`sys.modules["tensorrt"]` (`install(monkeypatch, "8.5")` does that) before running edgec's real
builder and runner. Every class, method, property, enum member and function of a double is
generated from the committed API surface `tests/trt_api/surface-<version>.json` (see its
README), so a double tracks the real API of its version and nothing more:

* Exactly the version's names. Reading or setting an attribute, calling a method or function,
  or naming an enum member that the surface lacks raises AttributeError naming the version and
  the missing name. A call with a keyword that is not among the method's parameters, or with
  more positional arguments than it has, raises TypeError (for methods with overloads: when no
  overload accepts the call). The surfaces do not say which parameters have defaults, so fewer
  arguments than listed are accepted.
* Records, never computes. Each constructor, method call, property read and write, module
  function call, and each call the double makes into Python objects (loggers, calibrators) is
  one entry of `trt.journal` (below). A double produces no engine, number or measurement: what
  TensorRT measures or decides (device memory sizes, layer precisions, timings, unmodelled
  properties and constants) reads as NOT_MEASURED (-1), "a double measures nothing"; the engine
  inspector reports `{"Layers": []}`, "a double knows no layer precisions". Unmodelled methods
  record the call and return None.
* Structure comes from the test. The OnnxParser double reads the ONNX bytes with `onnx` and
  fills the network with one layer per node (LayerType from the op; ops without a direct
  TensorRT layer become the parser's plugin fallback, PLUGIN_V2), the graph inputs and outputs
  (shapes with -1 for dynamic axes). Everything else structural is a scenario key.
* Opaque results. `build_serialized_network` returns an IHostMemory (a bytes subclass: bytes(),
  memoryview(), len() work) holding ENGINE_MARKER; `Runtime.deserialize_cuda_engine` accepts only
  that marker and returns an engine whose IO tensors mirror the last network built by this
  double (or the ONNX of the `engine_onnx` scenario key). Execution contexts record shapes and
  addresses, give the set shapes back (outputs: the network output's shape with the batch of the
  inputs) and return True from execute_async_v2/v3 without computing anything.
* Subclassable like pybind11 classes: `class L(trt.ILogger)` must call `trt.ILogger.__init__`
  (else TypeError at construction, as pybind11 says); classes without `__init__` in the surface
  cannot be constructed from Python ("No constructor defined!").
* Enums: members are singletons, `int(m)` is the index in the surface's member order,
  `str(m)` is "Enum.MEMBER", `m.name`/`m.value`, `Enum.__members__`, `Enum(index)`.

Journal: `trt.journal` is a list of Entry(name, args, kwargs) namedtuples (equal to the plain
tuple), each with `.result`, what the call returned. Names:
    "Builder.__init__"                     constructor (also `trt.ILogger.__init__(self)`)
    "IBuilderConfig.set_flag"              method call, named after the object's surface
                                           class ("Logger.__enter__" for an inherited one)
    "IBuilderConfig.int8_calibrator="      property write, args (value,)
    "get IBuilderConfig.profiling_verbosity"   property read, result = the value read
    "init_libnvinfer_plugins"              module function
    "callback IInt8EntropyCalibrator2.read_calibration_cache"   the double calling user code
    "callback ILogger.log"                 a message the double logs (args: severity, text)
    "note int8_without_calibrator"         INT8 build with neither calibrator nor Q/DQ layers
    "cuda.Stream.copy_to_device"           cuda_double calls, when install() shares the journal
Protocol dunders (len(), indexing, str(), ==, bool()) are not journaled. Queries take an
fnmatch pattern: `trt.calls("IBuilderConfig.set_flag")` (args of each call),
`trt.entries("IExecutionContext.*")`, `trt.results(...)`, `trt.names(reads=False)` (ordered
names, property reads left out), `trt.clear_journal()`.

Scenario keys (make_tensorrt(version, **scenario)): see SCENARIO_DEFAULTS.

Limits that come from the surfaces: they do not say which parameters have defaults (so missing
arguments are not detected) nor which enums are arithmetic (members equal only themselves, not
ints). `int(member)` is TensorRT's value: members are listed in value order, and enums with gaps
or aliases carry `enum_values` (the stubs' value comments for 10.13; the registration calls in
the binaries otherwise). Where the extractor lost a certain base class (8.2's Dims2/Dims3/DimsHW,
some layer and calibrator classes) the double adds it: see _bases_of.
"""
import fnmatch
import functools
import json
import os
import sys
import types
from collections import namedtuple

SURFACE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trt_api")
VERSIONS = ("8.2", "8.5", "8.6", "10.3", "10.13", "10.16", "11.4")

ENGINE_MARKER = b"edgec TensorRT test double: not an engine"
TIMING_CACHE_MARKER = b"edgec TensorRT test double: not a timing cache"
# What the double hands to write_calibration_cache after calibrating from batches.
CALIBRATION_CACHE_MARKER = b"edgec TensorRT test double: not a calibration cache"
# The engine inspector's answer: a double knows no layer precisions.
ENGINE_INFORMATION = '{"Layers": []}'
# What a double reads for anything TensorRT measures or decides: a double measures nothing.
NOT_MEASURED = -1

SCENARIO_DEFAULTS = {
    # Builder.num_DLA_cores / Runtime.num_DLA_cores.
    "dla_cores": 0,
    # A message: every parse call fails with it (num_errors 1, get_error(0), logged as ERROR).
    "parse_error": None,
    # A message: build_serialized_network / build_engine log it as ERROR and return None.
    "build_error": None,
    # True: set_timing_cache(cache, ignore_mismatch=False) refuses the cache (returns False).
    "timing_cache_mismatch": False,
    # True: set_input_shape / set_binding_shape return False (batch outside the profile).
    "reject_input_shapes": False,
    # ONNX path, bytes or ModelProto whose IO an engine mirrors when this double built none.
    "engine_onnx": None,
    # Calibration without a cache: get_batch is called until it returns no batch, at most this.
    "max_calibration_batches": 16,
    # Overrides trt.__version__ (default: the surface's version, e.g. "10.13.0.35").
    "version_string": None,
    # Network layer names IBuilderConfig.can_run_on_DLA answers False for (others: True, as
    # the test's network is its structure; a double decides nothing about real DLA support).
    "dla_refused_layers": (),
}

# Dunders that implement Python protocols: defined only where the double models them, and not
# journaled (they are how Python reads a value: len(dims), dims[0], str(error)).
_PROTOCOL_DUNDERS = frozenset([
    "__len__", "__getitem__", "__setitem__", "__delitem__", "__iter__", "__contains__",
    "__eq__", "__ne__", "__repr__", "__str__", "__bool__", "__nonzero__", "__hash__"])
# Never defined: a recording __del__ would journal at garbage-collection time; the buffer slots
# are provided by IHostMemory's bytes base (Python < 3.12 would not use __buffer__ anyway).
_SKIPPED_DUNDERS = frozenset(["__del__", "__buffer__", "__release_buffer__"])


# ---------------------------------------------------------------------------------------------
# Journal

class Entry(namedtuple("Entry", "name args kwargs")):
    """One journaled event; equal to the tuple (name, args, kwargs). `result` is the value the
    call returned or the property read gave (None before it returns and for writes)."""
    result = None


class Journal(list):
    """The ordered record of a double; query methods take fnmatch patterns ("cuda.*")."""

    def add(self, name, args=(), kwargs=None):
        entry = Entry(name, tuple(args), dict(kwargs or {}))
        self.append(entry)
        return entry

    def entries(self, pattern="*"):
        return [entry for entry in self if fnmatch.fnmatchcase(entry.name, pattern)]

    def calls(self, pattern):
        """The positional arguments of each matching entry, in order."""
        return [entry.args for entry in self.entries(pattern)]

    def results(self, pattern):
        return [entry.result for entry in self.entries(pattern)]

    def names(self, pattern="*", reads=True):
        """Entry names in order; reads=False leaves out property reads ("get ...")."""
        return [entry.name for entry in self.entries(pattern)
                if reads or not entry.name.startswith("get ")]


# ---------------------------------------------------------------------------------------------
# Surfaces

def surface_key(version):
    """"8.5", "8.5.2" or "8.5.2.2" -> "8.5" (the surface file's version)."""
    text = str(version)
    for key in VERSIONS:
        if text == key or text.startswith(key + "."):
            return key
    raise ValueError("no TensorRT API surface for version %r; there are %s"
                     % (version, ", ".join(VERSIONS)))


@functools.lru_cache(maxsize=None)
def load_surface(key):
    """The parsed surface-<key>.json (shared: treat as read-only)."""
    with open(os.path.join(SURFACE_DIR, "surface-%s.json" % key)) as handle:
        return json.load(handle)


def _bases_of(name, classes):
    """The surface's bases of a class, plus a base the extractor could not recover where the C++
    base is certain (8.2's Dims2/Dims3/DimsHW have no recorded Dims base, some layer and
    calibrator classes no ILayer / IInt8Calibrator base): without it Dims2 would lack len()."""
    recorded = [base for base in classes[name].get("bases", []) if base in classes]
    if recorded or "." in name:
        return recorded
    if name.startswith("Dims") and name != "Dims" and "Dims" in classes:
        return ["Dims"]
    if name.endswith("Layer") and name != "ILayer" and "ILayer" in classes:
        return ["ILayer"]
    if (name.startswith("IInt8") and "Calibrator" in name and name != "IInt8Calibrator"
            and "IInt8Calibrator" in classes):
        return ["IInt8Calibrator"]
    return []


# ---------------------------------------------------------------------------------------------
# The generated classes

class _DoubleType(type):
    """Metaclass of every generated class: missing class attributes and constructors fail the
    way the version's tensorrt would."""

    def __getattr__(cls, name):
        raise cls._trt_world.missing("%s.%s" % (cls._trt_name, name))

    def __call__(cls, *args, **kwargs):
        if not cls._trt_constructible:
            raise TypeError("tensorrt.%s: No constructor defined! (%s)"
                            % (cls._trt_name, cls._trt_world.label()))
        obj = type.__call__(cls, *args, **kwargs)
        if not obj._trt.initialized:  # a Python subclass whose __init__ skipped the base's
            raise TypeError("%s.__init__() must be called when overriding __init__"
                            % _surface_name(obj))
        return obj


class _DoubleObject(object):
    """Root of the generated (non-enum) classes, like pybind11_object. Instance state lives in
    `_trt`; a double's own instances accept only the surface's properties as attributes, Python
    subclasses (a user's logger) keep ordinary attributes."""

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        object.__setattr__(obj, "_trt", types.SimpleNamespace(props={}, initialized=False))
        return obj

    def __getattr__(self, name):
        raise type(self)._trt_world.missing("%s.%s" % (_surface_name(self), name))

    def __setattr__(self, name, value):
        cls = type(self)
        if "_trt_generated" in cls.__dict__ and not isinstance(getattr(cls, name, None),
                                                               _SurfaceProperty):
            if hasattr(cls, name):
                raise AttributeError("%s: %s.%s is read-only (not a property)"
                                     % (cls._trt_world.label(), cls._trt_name, name))
            raise cls._trt_world.missing("%s.%s" % (cls._trt_name, name))
        object.__setattr__(self, name, value)


class _HostMemoryBase(bytes):
    """IHostMemory's buffer: a bytes subclass so bytes(), memoryview() and len() work; bytes'
    own methods (decode, hex, ...) are hidden because IHostMemory has none."""

    def __getattribute__(self, name):
        if not name.startswith("_") and name not in type(self)._trt_public:
            raise type(self)._trt_world.missing("IHostMemory.%s" % name)
        return bytes.__getattribute__(self, name)

    def __repr__(self):
        return "<tensorrt.IHostMemory test double: %d bytes>" % bytes.__len__(self)

    __str__ = __repr__


def _surface_name(obj):
    """The surface class of an object: its generated class or the nearest generated base."""
    for klass in type(obj).__mro__:
        if "_trt_generated" in klass.__dict__:
            return klass._trt_name
    return type(obj).__name__


class _SurfaceProperty(object):
    """A surface property: journals reads and writes; the value comes from the behaviour's
    property where the double models it, else from what was written, else NOT_MEASURED."""

    def __init__(self, name, modelled):
        self.name = name
        self.modelled = modelled  # a `property` from a behaviour class, or None

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        entry = type(obj)._trt_world.journal.add("get %s.%s" % (_surface_name(obj), self.name))
        if self.modelled is not None:
            entry.result = self.modelled.fget(obj)
        else:
            entry.result = obj._trt.props.get(self.name, NOT_MEASURED)
        return entry.result

    def __set__(self, obj, value):
        type(obj)._trt_world.journal.add("%s.%s=" % (_surface_name(obj), self.name), (value,))
        if self.modelled is None:
            obj._trt.props[self.name] = value
        elif self.modelled.fset is None:
            raise AttributeError("%s.%s: can't set attribute (read-only in TensorRT)"
                                 % (_surface_name(obj), self.name))
        else:
            self.modelled.fset(obj, value)


def _check_arguments(world, qualname, overloads, args, kwargs):
    """TypeError unless some overload takes these arguments (by count and keyword names).
    Returns the arguments as positional ones in that overload's order where they can be (so a
    behaviour's own parameter names do not matter), plus the keywords left after a gap."""
    def fits(params):
        if len(args) > len(params):
            return False
        if "?" in params:  # a parameter name the extractor could not read: keywords unknown
            return True
        return all(key in params and params.index(key) >= len(args) for key in kwargs)

    for params in overloads:
        if fits(params):
            positional, rest = list(args), dict(kwargs)
            for param in params[len(args):]:
                if param not in rest:
                    break
                positional.append(rest.pop(param))
            return positional, rest
    shown = " | ".join("(%s)" % ", ".join(params) for params in overloads)
    if len(overloads) == 1:
        params = overloads[0]
        unknown = [key for key in kwargs if key not in params]
        if unknown:
            problem = "got an unexpected keyword argument %r" % unknown[0]
        elif len(args) > len(params):
            problem = "takes at most %d positional arguments, %d given" % (len(params), len(args))
        else:
            problem = "got multiple values for an argument"
    else:
        problem = "matches no overload"
    raise TypeError("%s: %s() %s; parameters %s" % (world.label(), qualname, problem, shown))


def _make_method(world, class_name, method, overloads, impl, journaled):
    def recorded(self, *args, **kwargs):
        positional, keywords = _check_arguments(world, "%s.%s" % (class_name, method),
                                                overloads, args, kwargs)
        entry = None
        if journaled:
            entry = world.journal.add("%s.%s" % (_surface_name(self), method), args, kwargs)
        if method == "__init__":
            self._trt.initialized = True
            self._trt.init_args = (args, kwargs)
        if impl is not None:
            result = impl(self, *positional, **keywords)
        elif method == "__enter__":
            result = self
        else:
            result = None
        if entry is not None:
            entry.result = result
        return result

    recorded.__name__ = method
    recorded.__qualname__ = "%s.%s" % (class_name, method)
    recorded._trt_impl = impl  # the double's callbacks into its own objects skip the journal
    return recorded


def _make_function(world, name, params, impl):
    def recorded(*args, **kwargs):
        positional, keywords = _check_arguments(world, name, [params], args, kwargs)
        entry = world.journal.add(name, args, kwargs)
        entry.result = impl(world, *positional, **keywords) if impl is not None else None
        return entry.result

    recorded.__name__ = name
    recorded.__qualname__ = name
    recorded.__module__ = "tensorrt"
    return recorded


class _EnumType(_DoubleType):
    def __call__(cls, value):
        """Enum(value) -> member (the first one registered with it), like pybind11's int constructor."""
        for member in cls.__members__.values():
            if isinstance(value, int) and member._value == value:
                return member
        raise ValueError("%s: %r is not a valid %s" % (cls._trt_world.label(), value,
                                                       cls._trt_name))


class _EnumMember(object):
    """A pybind11-like enum member; equality is identity (members are singletons)."""
    __slots__ = ("_name", "_value")

    @property
    def name(self):
        return self._name

    @property
    def value(self):
        return self._value

    def __int__(self):
        return self._value

    __index__ = __int__

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def __hash__(self):
        return hash((type(self).__name__, self._value))

    def __str__(self):
        return "%s.%s" % (type(self).__name__, self._name)

    def __repr__(self):
        return "<%s.%s: %d>" % (type(self).__name__, self._name, self._value)

    def __getattr__(self, name):
        raise type(self)._trt_world.missing("%s.%s.%s" % (type(self)._trt_name, self._name, name))

    def __setattr__(self, name, value):
        raise AttributeError("%s: enum members are read-only" % type(self)._trt_name)


def _make_enum(world, name, spec):
    namespace = {"__module__": "tensorrt", "__qualname__": name, "__slots__": (),
                 "_trt_generated": True, "_trt_name": name, "_trt_world": world,
                 "_trt_constructible": True, "_trt_public": frozenset(spec["enum_members"])}
    cls = _EnumType(name.split(".")[-1], (_EnumMember,), namespace)
    members = {}
    for index, member_name in enumerate(spec["enum_members"]):
        member = object.__new__(cls)
        object.__setattr__(member, "_name", member_name)
        object.__setattr__(member, "_value", spec.get("enum_values", {}).get(member_name, index))
        members[member_name] = member
        type.__setattr__(cls, member_name, member)
    type.__setattr__(cls, "__members__", types.MappingProxyType(members))
    for attribute in spec.get("attributes", []):  # DataType.itemsize: not modelled
        type.__setattr__(cls, attribute, NOT_MEASURED)
    return cls


def _behaviour_chain(name, classes):
    """Behaviour classes for a surface class and its surface ancestors, nearest first."""
    chain, pending = [], [name]
    while pending:
        current = pending.pop(0)
        if current in _BEHAVIOURS and _BEHAVIOURS[current] not in chain:
            chain.append(_BEHAVIOURS[current])
        pending.extend(_bases_of(current, classes))
    return chain


def _make_class(world, name, spec, classes):
    if "enum_members" in spec:
        return _make_enum(world, name, spec)
    behaviours = _behaviour_chain(name, classes)

    def modelled(member):
        for behaviour in behaviours:
            if member in behaviour.__dict__:
                return behaviour.__dict__[member]
        return None

    bases = tuple(world.classes[base] for base in _bases_of(name, classes))
    if name == "IHostMemory":
        bases = (_HostMemoryBase,) + bases
    bases = bases or (_DoubleObject,)
    if _HostMemoryBase in bases and _DoubleObject not in bases:
        bases = bases + (_DoubleObject,)
    namespace = {"__module__": "tensorrt", "__qualname__": name, "_trt_generated": True,
                 "_trt_name": name, "_trt_world": world,
                 "__doc__": "tensorrt %s %s (test double from surface-%s.json)"
                            % (world.version, name, world.key)}
    methods = spec.get("methods", {})
    for method, params in methods.items():
        impl = modelled(method)
        if method in _SKIPPED_DUNDERS or (method in _PROTOCOL_DUNDERS and impl is None):
            continue
        overloads = spec.get("overloads", {}).get(method) or [params]
        namespace[method] = _make_method(world, name, method, overloads, impl,
                                         journaled=method not in _PROTOCOL_DUNDERS)
    for prop in spec.get("properties", []):
        namespace[prop] = _SurfaceProperty(prop, modelled(prop))
    if "__hash__" in spec.get("attributes", []):
        namespace["__hash__"] = None  # pybind11 classes with __eq__ and no __hash__
    cls = _DoubleType(name.split(".")[-1], bases, namespace)
    inherited = frozenset().union(*[getattr(base, "_trt_public", frozenset()) for base in bases])
    public = set(methods) | set(spec.get("properties", [])) | set(spec.get("attributes", []))
    type.__setattr__(cls, "_trt_public", inherited | public)
    type.__setattr__(cls, "_trt_constructible", "__init__" in methods or any(
        getattr(base, "_trt_constructible", False) for base in bases if hasattr(base, "_trt_name")))
    return cls


def _build_classes(world):
    classes = world.surface["classes"]
    pending = sorted(classes)
    while pending:
        progressed = []
        for name in pending:
            outer, _, inner = name.rpartition(".")
            # A nested enum that a base class has too is the base's (Logger.Severity is
            # ILogger.Severity in pybind11), so Logger.WARNING is ILogger.Severity.WARNING.
            inherited = [base + "." + inner for base in
                         (_bases_of(outer, classes) if outer in classes else [])
                         if classes.get(base + "." + inner) == classes[name]]
            needs = _bases_of(name, classes) + inherited
            if not all(dep in world.classes for dep in needs):
                continue
            if inherited:
                world.classes[name] = world.classes[inherited[0]]
            else:
                world.classes[name] = _make_class(world, name, classes[name], classes)
            progressed.append(name)
        if not progressed:
            raise RuntimeError("surface-%s.json: circular bases among %s" % (world.key, pending))
        pending = [name for name in pending if name not in progressed]
    for name in classes:
        outer, _, inner = name.rpartition(".")
        if outer:
            type.__setattr__(world.classes[outer], inner, world.classes[name])
    for name, spec in classes.items():
        if "enum_members" in spec:
            continue
        cls = world.classes[name]
        for attribute in spec.get("attributes", []):
            if attribute in cls.__dict__ or attribute.startswith("__"):
                continue
            type.__setattr__(cls, attribute, _exported_member(world, name, attribute))


def _exported_member(world, class_name, attribute):
    """A class attribute: a nested enum's member exported into the class (pybind11
    export_values: Logger.WARNING), else an unmodelled constant (NOT_MEASURED)."""
    for name, cls in world.classes.items():
        if name.startswith(class_name + ".") and attribute in getattr(cls, "__members__", {}):
            return cls.__members__[attribute]
    return NOT_MEASURED


# ---------------------------------------------------------------------------------------------
# One double

class _World(object):
    """What one double's classes share: version, surface, scenario, journal, state."""

    def __init__(self, key, scenario):
        self.key = key
        self.surface = load_surface(key)
        self.scenario = scenario
        self.version = scenario["version_string"] or self.surface["version"]
        self.journal = Journal()
        self.classes = {}
        self.built_io = None  # the IO of the last network this double built an engine from

    def label(self):
        return "tensorrt %s test double (surface-%s.json)" % (self.version, self.key)

    def missing(self, what):
        return AttributeError("%s: %s does not exist in TensorRT %s"
                              % (self.label(), what, self.version))

    def member(self, enum, name):
        """An enum member, or None where the version lacks the enum or the member."""
        cls = self.classes.get(enum)
        return cls.__members__.get(name) if cls is not None else None

    def first_member(self, enum, names):
        return next((m for m in (self.member(enum, n) for n in names) if m is not None), None)

    def new(self, class_name, **state):
        """An instance made by TensorRT itself (no constructor, nothing journaled)."""
        cls = self.classes[class_name]
        obj = bytes.__new__(cls, state.pop("data")) if issubclass(cls, bytes) else \
            object.__new__(cls)
        object.__setattr__(obj, "_trt", types.SimpleNamespace(props={}, initialized=True,
                                                              **state))
        return obj

    def dims(self, values):
        return self.new("Dims", values=[int(v) for v in values])

    def callback(self, obj, method, *args):
        """Call user code the way TensorRT does, journaled as "callback Class.method"."""
        entry = self.journal.add("callback %s.%s" % (_surface_name(obj), method), args)
        found = getattr(type(obj), method, None)
        if hasattr(found, "_trt_impl"):  # not overridden: the double's own (silent) version
            entry.result = found._trt_impl(obj, *args) if found._trt_impl else None
        else:
            entry.result = getattr(obj, method)(*args)
        return entry.result

    def log(self, logger, severity, message):
        member = self.member("ILogger.Severity", severity)
        if logger is not None and member is not None:
            self.callback(logger, "log", member, message)


def make_tensorrt(version, **scenario):
    """A fresh double of `tensorrt` for `version` ("8.2", "8.5", "10.13", "11.4" or a longer
    version string); scenario keys and defaults: SCENARIO_DEFAULTS."""
    unknown = sorted(set(scenario) - set(SCENARIO_DEFAULTS))
    if unknown:
        raise TypeError("unknown scenario keys %s; known: %s"
                        % (unknown, ", ".join(sorted(SCENARIO_DEFAULTS))))
    world = _World(surface_key(version), dict(SCENARIO_DEFAULTS, **scenario))
    _build_classes(world)
    module = _TensorRTModule("tensorrt", "%s\n\n%s" % (world.label(), __doc__))
    module.__dict__["_trt_world"] = world
    for attribute in world.surface.get("module_attributes", []):
        setattr(module, attribute, NOT_MEASURED)
    module.__version__ = world.version
    for name, params in world.surface.get("functions", {}).items():
        setattr(module, name, _make_function(world, name, params, _FUNCTIONS.get(name)))
    for name, cls in world.classes.items():
        if "." not in name:
            setattr(module, name, cls)
    journal = world.journal
    module.journal = journal
    module.calls, module.entries = journal.calls, journal.entries
    module.results, module.names, module.clear_journal = journal.results, journal.names, \
        journal.clear
    module.scenario = dict(world.scenario)
    module.surface_key = world.key
    return module


class _TensorRTModule(types.ModuleType):
    def __getattr__(self, name):
        world = self.__dict__.get("_trt_world")
        if world is None or name.startswith("__"):
            raise AttributeError(name)
        raise world.missing("tensorrt.%s" % name)


def install(monkeypatch, version, cuda=True, **scenario):
    """make_tensorrt(version, **scenario) as sys.modules["tensorrt"] for one test. cuda=True
    also puts tests/cuda_double.py (reset, journaling into trt.journal) in place of
    edgec.runtime.cuda, including where an already imported runner module bound it."""
    trt = make_tensorrt(version, **scenario)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    if cuda:
        import cuda_double
        import edgec.runtime

        cuda_double.reset(journal=trt.journal)
        monkeypatch.setitem(sys.modules, "edgec.runtime.cuda", cuda_double)
        monkeypatch.setattr(edgec.runtime, "cuda", cuda_double, raising=False)
        for module in list(sys.modules.values()):
            if (getattr(module, "__name__", "").startswith("edgec.")
                    and getattr(module, "cuda", None) is not None
                    and getattr(module.cuda, "__name__", "") == "edgec.runtime.cuda"):
                monkeypatch.setattr(module, "cuda", cuda_double)
    return trt


# ---------------------------------------------------------------------------------------------
# The ONNX graph a parser double reads

_GraphTensor = namedtuple("_GraphTensor", "name shape elem_type")
_GraphNode = namedtuple("_GraphNode", "name op_type inputs outputs")
_Graph = namedtuple("_Graph", "inputs outputs nodes tensors")


def read_onnx(model):
    """Inputs, outputs, nodes and known tensor shapes of an ONNX model (path, bytes or
    ModelProto); dynamic or unknown axes are -1, an unknown rank is ()."""
    import onnx

    if isinstance(model, onnx.ModelProto):
        proto = model
    elif isinstance(model, (bytes, bytearray, memoryview)):
        proto = onnx.load_model_from_string(bytes(model))
    else:
        proto = onnx.load(str(model), load_external_data=False)
    try:  # only for intermediate tensors and undeclared output shapes
        inferred = onnx.shape_inference.infer_shapes(proto).graph
    except Exception:
        inferred = proto.graph

    def described(info):
        tensor_type = info.type.tensor_type
        shape = ()
        if tensor_type.HasField("shape"):
            shape = tuple(d.dim_value if d.HasField("dim_value") else -1
                          for d in tensor_type.shape.dim)
        return _GraphTensor(info.name, shape, tensor_type.elem_type)

    tensors = {}
    for info in list(inferred.value_info) + list(inferred.output) + list(proto.graph.output):
        tensors[info.name] = described(info)
    weights = set(init.name for init in proto.graph.initializer)
    inputs = [described(info) for info in proto.graph.input if info.name not in weights]
    outputs = [tensors[info.name] for info in proto.graph.output]
    nodes = [_GraphNode(node.name or "node_of_" + node.output[0], node.op_type,
                        list(node.input), [name for name in node.output if name])
             for node in proto.graph.node]
    return _Graph(inputs, outputs, nodes, tensors)


# LayerType of the layer TensorRT's ONNX parser makes for an op: the first member the version
# has. Ops not listed get the parser's plugin fallback.
_LAYER_TYPES = {
    "Conv": ("CONVOLUTION",), "ConvTranspose": ("DECONVOLUTION",),
    "QuantizeLinear": ("QUANTIZE",), "DequantizeLinear": ("DEQUANTIZE",),
    "Concat": ("CONCATENATION",), "Cast": ("CAST", "IDENTITY"), "Identity": ("IDENTITY",),
    "MatMul": ("MATRIX_MULTIPLY",), "Gemm": ("MATRIX_MULTIPLY",),
    "Resize": ("RESIZE",), "Upsample": ("RESIZE",), "Softmax": ("SOFTMAX",),
    "Pad": ("PADDING",), "Slice": ("SLICE",), "Split": ("SLICE",), "Gather": ("GATHER",),
    "Constant": ("CONSTANT",), "Shape": ("SHAPE",), "BatchNormalization": ("SCALE",),
    "PRelu": ("PARAMETRIC_RELU",), "Where": ("SELECT",), "TopK": ("TOPK",),
    "Einsum": ("EINSUM",), "ScatterND": ("SCATTER",), "ScatterElements": ("SCATTER",),
    "NonZero": ("NON_ZERO",), "OneHot": ("ONE_HOT",), "LRN": ("LRN",),
    "GridSample": ("GRID_SAMPLE", "PLUGIN_V2"),
}
for _ops, _types in [
        (("Relu", "LeakyRelu", "Sigmoid", "Tanh", "Elu", "Selu", "Softplus", "Softsign",
          "HardSigmoid", "Clip", "ThresholdedRelu"), ("ACTIVATION",)),
        (("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Greater", "Less", "And",
          "Or", "Xor"), ("ELEMENTWISE",)),
        (("Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze"), ("SHUFFLE",)),
        (("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"), ("POOLING",)),
        (("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"), ("REDUCE",)),
        (("InstanceNormalization", "LayerNormalization", "GroupNormalization"),
         ("NORMALIZATION", "PLUGIN_V2")),
        (("Sqrt", "Exp", "Log", "Abs", "Neg", "Reciprocal", "Floor", "Ceil", "Sin", "Cos", "Erf",
          "Not", "Round", "Sign"), ("UNARY",))]:
    _LAYER_TYPES.update((op, _types) for op in _ops)
_GENERIC_LAYER_TYPES = ("PLUGIN_V2", "PLUGIN")

# onnx.TensorProto element types -> DataType members (8.x has no INT64: TensorRT casts to INT32).
_DATA_TYPES = {1: ("FLOAT",), 10: ("HALF",), 16: ("BF16",), 3: ("INT8",), 2: ("UINT8",),
               6: ("INT32",), 7: ("INT64", "INT32"), 9: ("BOOL",)}


def _data_type(world, elem_type):
    return world.first_member("DataType", _DATA_TYPES.get(elem_type, ("FLOAT",)))


def _populate(world, network, graph):
    """Fill a network double from a graph: one ILayer per node, the graph's inputs/outputs."""
    state = network._trt
    tensors = {}

    def tensor(described, is_input=False):
        made = world.new("ITensor", name=described.name, shape=tuple(described.shape),
                         dtype=_data_type(world, described.elem_type), is_input=is_input,
                         is_output=False)
        tensors[described.name] = made
        return made

    for described in graph.inputs:
        state.inputs.append(tensor(described, is_input=True))
    for node in graph.nodes:
        outputs = [tensor(graph.tensors.get(name) or _GraphTensor(name, (), 1))
                   for name in node.outputs]
        layer_type = world.first_member("LayerType", _LAYER_TYPES.get(node.op_type, ()) +
                                        _GENERIC_LAYER_TYPES)
        state.layers.append(world.new(
            "ILayer", name=node.name, type=layer_type, outputs=outputs, output_types={},
            inputs=[tensors[name] for name in node.inputs if name in tensors], precision=None))
    for described in graph.outputs:
        made = tensors.get(described.name) or tensor(described)
        made._trt.is_output = True
        made._trt.shape = tuple(described.shape)
        state.outputs.append(made)


# ---------------------------------------------------------------------------------------------
# Behaviours: what the double models, per surface class. Only the names the version's surface
# has are exposed (a behaviour may implement a method that only some versions have); the rest
# of the surface records and returns None / NOT_MEASURED. Behaviour methods receive the
# arguments positionally in the surface's parameter order (see _check_arguments).

def _world(obj):
    return type(obj)._trt_world


def _as_tuple(shape):
    """A tuple of ints from a Dims double, tuple or list."""
    return tuple(int(shape[i]) for i in range(len(shape)))


def _stored(name, default):
    """A property modelled as stored with a TensorRT default (None for object handles)."""
    return property(lambda self: self._trt.props.get(name, default),
                    lambda self, value: self._trt.props.__setitem__(name, value))


class _Logger(object):
    def __init__(self, min_severity=None):
        self._trt.props["min_severity"] = min_severity

    def log(self, severity, msg):
        return None  # a double prints nothing; the journal has the call


class _Dims(object):
    """Dims, Dims2, Dims3, Dims4, DimsHW: a list of ints."""

    def __init__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and not isinstance(args[0], int):
            values = _as_tuple(args[0])  # Dims(shape)
        else:
            values = tuple(args) + tuple(kwargs.values())  # Dims2(dim0, dim1), DimsHW(h=, w=)
        self._trt.values = [int(v) for v in values]

    def __len__(self):
        return len(self._trt.values)

    def __getitem__(self, index):
        return self._trt.values[index]

    def __setitem__(self, index, value):
        self._trt.values[index] = int(value)

    def __eq__(self, other):
        try:
            return list(self._trt.values) == list(_as_tuple(other))
        except TypeError:
            return False

    def __repr__(self):
        return repr(tuple(self._trt.values))

    __str__ = __repr__
    h = property(lambda self: self._trt.values[0])
    w = property(lambda self: self._trt.values[1])


class _HostMemory(object):
    nbytes = property(lambda self: bytes.__len__(self))  # the marker's length, as bytes() gives


class _Builder(object):
    def __init__(self, logger):
        self._trt.logger = logger

    logger = property(lambda self: self._trt.logger)
    num_DLA_cores = property(lambda self: _world(self).scenario["dla_cores"])
    error_recorder = _stored("error_recorder", None)

    def create_network(self, flags=0):
        world = _world(self)
        enum = world.classes.get("NetworkDefinitionCreationFlag")
        names = [m.name for m in (enum.__members__.values() if enum else ()) if flags >> int(m) & 1]
        return world.new("INetworkDefinition", flags=names, layers=[], inputs=[], outputs=[])

    def create_builder_config(self):
        return _world(self).new("IBuilderConfig", flags=[], pools={}, profiles=[],
                                timing_cache=None)

    def create_optimization_profile(self):
        return _world(self).new("IOptimizationProfile", shapes={})

    def build_serialized_network(self, network, config, kernel_text=None):
        world = _world(self)
        if not _build(world, self._trt.logger, network, config):
            return None
        return world.new("IHostMemory", data=ENGINE_MARKER)

    def build_engine(self, network, config):
        world = _world(self)
        if not _build(world, self._trt.logger, network, config):
            return None
        return world.new("ICudaEngine", io=list(world.built_io))

    build_engine_with_config = build_engine


def _build(world, logger, network, config):
    """What TensorRT does at build time that a test can observe: INT8 calibration callbacks
    and warnings. True when an "engine" results (its IO remembered for deserialisation)."""
    if world.scenario["build_error"]:
        world.log(logger, "ERROR", world.scenario["build_error"])
        return False
    int8 = world.member("BuilderFlag", "INT8")
    if int8 is not None and int8 in config._trt.flags:
        calibrator = config._trt.props.get("int8_calibrator")
        has_qdq = any(layer._trt.type is not None and layer._trt.type.name in
                      ("QUANTIZE", "DEQUANTIZE") for layer in network._trt.layers)
        if calibrator is not None:
            if not _calibrate(world, logger, network, calibrator):
                return False
        elif not has_qdq:
            world.journal.add("note int8_without_calibrator")
            world.log(logger, "WARNING", "Calibrator is not being used. Users must provide "
                                         "dynamic range for all tensors that are not Int8 or Bool.")
    world.built_io = _network_io(network)
    return True


def _calibrate(world, logger, network, calibrator):
    """TensorRT asks the calibrator for its batch size and cache; without a cache it pulls
    batches and writes a cache back. No batches and no cache: the build fails."""
    world.callback(calibrator, "get_batch_size")
    cache = world.callback(calibrator, "read_calibration_cache")
    if cache is not None and len(cache):
        return True
    names = [tensor._trt.name for tensor in network._trt.inputs]
    batches = 0
    while batches < world.scenario["max_calibration_batches"]:
        if not world.callback(calibrator, "get_batch", names):
            break
        batches += 1
    if not batches:
        world.log(logger, "ERROR", "Calibration failure occurred with no scaling factors "
                                   "detected (no calibration cache and no batches)")
        return False
    world.callback(calibrator, "write_calibration_cache", memoryview(CALIBRATION_CACHE_MARKER))
    return True


_EngineTensor = namedtuple("_EngineTensor", "name is_input shape dtype")


def _network_io(network):
    state = network._trt
    return ([_EngineTensor(t._trt.name, True, t._trt.shape, t._trt.dtype) for t in state.inputs]
            + [_EngineTensor(t._trt.name, False, t._trt.shape, t._trt.dtype)
               for t in state.outputs])


class _Network(object):
    num_layers = property(lambda self: len(self._trt.layers))
    num_inputs = property(lambda self: len(self._trt.inputs))
    num_outputs = property(lambda self: len(self._trt.outputs))
    # Implicit batch: 8.x networks created without EXPLICIT_BATCH; gone from 10.
    has_implicit_batch_dimension = property(
        lambda self: (_world(self).key.startswith("8.")
                      and "EXPLICIT_BATCH" not in self._trt.flags))
    error_recorder = _stored("error_recorder", None)

    def get_layer(self, index):
        return _item(self._trt.layers, index)

    def get_input(self, index):
        return _item(self._trt.inputs, index)

    def get_output(self, index):
        return _item(self._trt.outputs, index)

    def __len__(self):
        return len(self._trt.layers)

    def __getitem__(self, arg0):
        return self._trt.layers[arg0]

    def add_input(self, name, dtype, shape):
        made = _world(self).new("ITensor", name=name, shape=_as_tuple(shape), dtype=dtype,
                                is_input=True, is_output=False)
        self._trt.inputs.append(made)
        return made

    def mark_output(self, tensor):
        tensor._trt.is_output = True
        self._trt.outputs.append(tensor)


def _item(items, index):
    """TensorRT returns None (a null pointer) for an index out of range."""
    return items[index] if 0 <= index < len(items) else None


class _Tensor(object):
    name = property(lambda self: self._trt.name,
                    lambda self, value: setattr(self._trt, "name", value))
    shape = property(lambda self: _world(self).dims(self._trt.shape),
                     lambda self, value: setattr(self._trt, "shape", _as_tuple(value)))
    dtype = property(lambda self: self._trt.dtype,
                     lambda self, value: setattr(self._trt, "dtype", value))
    is_network_input = property(lambda self: self._trt.is_input)
    is_network_output = property(lambda self: self._trt.is_output)


class _Layer(object):
    name = property(lambda self: self._trt.name,
                    lambda self, value: setattr(self._trt, "name", value))
    type = property(lambda self: self._trt.type)
    num_inputs = property(lambda self: len(self._trt.inputs))
    num_outputs = property(lambda self: len(self._trt.outputs))
    # The precision TensorRT picks is not known: NOT_MEASURED until the code sets one.
    precision = property(lambda self: NOT_MEASURED if self._trt.precision is None
                         else self._trt.precision,
                         lambda self, value: setattr(self._trt, "precision", value))
    precision_is_set = property(lambda self: self._trt.precision is not None)

    def reset_precision(self):
        self._trt.precision = None

    def get_input(self, index):
        return _item(self._trt.inputs, index)

    def get_output(self, index):
        return _item(self._trt.outputs, index)

    def set_output_type(self, index, dtype):
        self._trt.output_types[index] = dtype

    def get_output_type(self, index):
        return self._trt.output_types.get(index, NOT_MEASURED)

    def output_type_is_set(self, index):
        return index in self._trt.output_types

    def reset_output_type(self, index):
        self._trt.output_types.pop(index, None)


class _BuilderConfig(object):
    int8_calibrator = _stored("int8_calibrator", None)
    error_recorder = _stored("error_recorder", None)
    num_optimization_profiles = property(lambda self: len(self._trt.profiles))

    def _get_flags(self):
        return sum(1 << value for value in set(int(flag) for flag in self._trt.flags))

    def _set_flags(self, value):
        enum = _world(self).classes["BuilderFlag"]
        self._trt.flags = [m for m in enum.__members__.values() if value >> int(m) & 1]

    flags = property(_get_flags, _set_flags)

    def set_flag(self, flag):
        if flag not in self._trt.flags:
            self._trt.flags.append(flag)

    def clear_flag(self, flag):
        if flag in self._trt.flags:
            self._trt.flags.remove(flag)

    def get_flag(self, flag):
        return flag in self._trt.flags

    def can_run_on_DLA(self, layer):
        return layer.name not in _world(self).scenario["dla_refused_layers"]

    def set_memory_pool_limit(self, pool, pool_size):
        self._trt.pools[pool] = pool_size

    def get_memory_pool_limit(self, pool):
        return self._trt.pools.get(pool, NOT_MEASURED)  # TensorRT's default is device-dependent

    def add_optimization_profile(self, profile):
        self._trt.profiles.append(profile)
        return len(self._trt.profiles) - 1

    def create_timing_cache(self, serialized_timing_cache):
        return _world(self).new("ITimingCache", data=bytes(serialized_timing_cache))

    def set_timing_cache(self, cache, ignore_mismatch):
        if _world(self).scenario["timing_cache_mismatch"] and not ignore_mismatch:
            return False
        self._trt.timing_cache = cache
        return True

    def get_timing_cache(self):
        return self._trt.timing_cache


class _OptimizationProfile(object):
    def set_shape(self, name, low, opt, high):
        self._trt.shapes[name] = (_as_tuple(low), _as_tuple(opt), _as_tuple(high))

    def get_shape(self, name):
        return [_world(self).dims(shape) for shape in self._trt.shapes.get(name, ())]

    def __bool__(self):
        return True

    __nonzero__ = __bool__


class _TimingCache(object):
    def serialize(self):
        return _world(self).new("IHostMemory", data=TIMING_CACHE_MARKER)

    def combine(self, input_cache, ignore_mismatch):
        return True


class _OnnxParser(object):
    def __init__(self, network, logger):
        self._trt.network, self._trt.logger = network, logger
        self._trt.errors, self._trt.loaded = [], None

    num_errors = property(lambda self: len(self._trt.errors))

    def parse(self, model, path=None):
        return _parse(self, model, path)

    def parse_with_weight_descriptors(self, model):
        return _parse(self, model)

    def parse_from_file(self, model):
        return _parse(self, model, model)

    def load_model_proto(self, model, path=None):
        self._trt.loaded = model
        return True

    def parse_model_proto(self):
        return _parse(self, self._trt.loaded)

    def get_error(self, index):
        return _item(self._trt.errors, index)

    def clear_errors(self):
        self._trt.errors = []


def _missing_weight_files(model, path):
    """The external data files an ONNX model names that are not beside `path`: TensorRT's
    parser looks for them in the model file's folder, and without a path it has none."""
    import onnx

    try:
        if isinstance(model, (bytes, bytearray, memoryview)):
            proto = onnx.load_model_from_string(bytes(model))
        elif isinstance(model, onnx.ModelProto):
            proto = model
        else:
            proto = onnx.load(str(model), load_external_data=False)
    except Exception:  # noqa: BLE001  (no ONNX: read_onnx reports it)
        return []
    names = sorted({entry.value for init in proto.graph.initializer
                    if init.data_location == onnx.TensorProto.EXTERNAL
                    for entry in init.external_data if entry.key == "location"})
    folder = os.path.dirname(os.path.abspath(path)) if path else None
    return [n for n in names if folder is None or not os.path.isfile(os.path.join(folder, n))]


def _parse(parser, model, path=None):
    """Populate the parser's network from the ONNX; False with an error where TensorRT's parser
    would fail: the scenario says so, the bytes are no ONNX, (8.x) an implicit-batch network,
    or external weights it cannot find beside `path`."""
    world, state = _world(parser), parser._trt
    message = world.scenario["parse_error"]
    if not message and state.network._trt.flags is not None and world.key.startswith("8.") \
            and "EXPLICIT_BATCH" not in state.network._trt.flags:
        message = ("This version of the ONNX parser only supports TensorRT INetworkDefinitions "
                   "with an explicit batch dimension. Please ensure the network was created "
                   "using the EXPLICIT_BATCH NetworkDefinitionCreationFlag.")
    graph = None
    missing = [] if message else _missing_weight_files(model, path)
    if missing:
        message = "Failed to open file: %s (external weights; model path %r)" % (missing[0],
                                                                                 path)
    if not message:
        try:
            graph = read_onnx(model)
        except Exception as exc:  # noqa: BLE001  (whatever onnx raises for bad input)
            message = "Failed to parse ONNX model: %s" % exc
        if graph is not None and not graph.nodes:
            message = "Failed to parse ONNX model: the graph has no nodes"
    if message:
        code = world.first_member("ErrorCode", ("UNSUPPORTED_NODE", "INVALID_GRAPH"))
        state.errors.append(world.new("ParserError", code=code, desc=message))
        world.log(state.logger, "ERROR", message)
        return False
    _populate(world, state.network, graph)
    return True


class _ParserError(object):
    def code(self):
        return self._trt.code

    def desc(self):
        return self._trt.desc

    def __str__(self):
        return "%s: %s" % (self._trt.code.name if self._trt.code else "ERROR", self._trt.desc)

    __repr__ = __str__


class _Runtime(object):
    def __init__(self, logger):
        self._trt.logger = logger

    logger = property(lambda self: self._trt.logger)
    num_DLA_cores = property(lambda self: _world(self).scenario["dla_cores"])
    error_recorder = _stored("error_recorder", None)

    def deserialize_cuda_engine(self, serialized_engine):
        world = _world(self)
        try:
            data = bytes(serialized_engine)
        except TypeError:
            data = None
        if data != ENGINE_MARKER:
            world.log(self._trt.logger, "ERROR", "Serialization assertion failed: not an engine "
                                                 "made by the TensorRT test double")
            return None
        return world.new("ICudaEngine", io=list(_engine_io(world)))


def _engine_io(world):
    if world.scenario["engine_onnx"] is not None:
        graph = read_onnx(world.scenario["engine_onnx"])
        return ([_EngineTensor(t.name, True, t.shape, _data_type(world, t.elem_type))
                 for t in graph.inputs] +
                [_EngineTensor(t.name, False, t.shape, _data_type(world, t.elem_type))
                 for t in graph.outputs])
    if world.built_io is None:
        raise RuntimeError("%s: deserialize_cuda_engine has no network to mirror: build one "
                           "with this double first, or pass engine_onnx=PATH in the scenario"
                           % world.label())
    return world.built_io


class _CudaEngine(object):
    num_io_tensors = property(lambda self: len(self._trt.io))
    num_bindings = property(lambda self: len(self._trt.io))
    error_recorder = _stored("error_recorder", None)

    def _find(self, name_or_index):
        io = self._trt.io
        if isinstance(name_or_index, int):
            return io[name_or_index] if 0 <= name_or_index < len(io) else None
        return next((t for t in io if t.name == name_or_index), None)

    def get_tensor_name(self, index):
        found = _CudaEngine._find(self, index)
        return found.name if found else None

    def get_tensor_mode(self, name):
        found = _CudaEngine._find(self, name)
        return _world(self).member("TensorIOMode", "NONE" if found is None else
                                   "INPUT" if found.is_input else "OUTPUT")

    def get_tensor_shape(self, name):
        found = _CudaEngine._find(self, name)
        return _world(self).dims(found.shape if found else ())

    def get_tensor_dtype(self, name):
        found = _CudaEngine._find(self, name)
        return found.dtype if found else None

    def binding_is_input(self, index):
        found = _CudaEngine._find(self, index)
        return bool(found and found.is_input)

    def get_binding_name(self, index):
        return _CudaEngine.get_tensor_name(self, index)

    def get_binding_index(self, name):
        names = [t.name for t in self._trt.io]
        return names.index(name) if name in names else -1

    def get_binding_shape(self, index):
        return _CudaEngine.get_tensor_shape(self, index)

    def get_binding_dtype(self, index):
        return _CudaEngine.get_tensor_dtype(self, index)

    def __len__(self):
        return len(self._trt.io)

    def __getitem__(self, arg0):
        if isinstance(arg0, int):
            return _CudaEngine.get_tensor_name(self, arg0)
        return _CudaEngine.get_binding_index(self, arg0)

    def create_execution_context(self, strategy=None, runtime_config=None):
        return _world(self).new("IExecutionContext", engine=self, shapes={}, addresses={})

    create_execution_context_without_device_memory = create_execution_context

    def create_engine_inspector(self):
        return _world(self).new("EngineInspector")

    def serialize(self):
        return _world(self).new("IHostMemory", data=ENGINE_MARKER)


class _ExecutionContext(object):
    engine = property(lambda self: self._trt.engine)
    all_binding_shapes_specified = property(lambda self: all(
        t.name in self._trt.shapes for t in self._trt.engine._trt.io if t.is_input))

    def _io(self, name_or_index):
        return _CudaEngine._find(self._trt.engine, name_or_index)

    def _set_shape(self, name_or_index, shape):
        found = _ExecutionContext._io(self, name_or_index)
        if found is None or not found.is_input or _world(self).scenario["reject_input_shapes"]:
            return False
        self._trt.shapes[found.name] = _as_tuple(shape)
        return True

    def _shape(self, name_or_index):
        """Set input shapes; outputs: the network's shape with the inputs' batch."""
        found = _ExecutionContext._io(self, name_or_index)
        if found is None:
            return _world(self).dims(())
        if found.is_input:
            return _world(self).dims(self._trt.shapes.get(found.name, found.shape))
        shape = list(found.shape)
        batches = [set_shape[0] for set_shape in self._trt.shapes.values() if set_shape]
        if shape and shape[0] < 0 and batches:
            shape[0] = batches[0]
        return _world(self).dims(shape)

    def set_input_shape(self, name, shape):
        return _ExecutionContext._set_shape(self, name, shape)

    def set_binding_shape(self, binding, shape):
        return _ExecutionContext._set_shape(self, binding, shape)

    def get_tensor_shape(self, name):
        return _ExecutionContext._shape(self, name)

    def get_binding_shape(self, binding):
        return _ExecutionContext._shape(self, binding)

    def set_tensor_address(self, name, memory):
        self._trt.addresses[name] = memory
        return True

    def get_tensor_address(self, name):
        return self._trt.addresses.get(name, NOT_MEASURED)

    def execute_async_v3(self, stream_handle):
        return True  # enqueued nothing: device output buffers keep what they held

    def execute_async_v2(self, bindings, stream_handle, input_consumed=None):
        return True

    def execute_v2(self, bindings):
        return True

    def execute(self, batch_size, bindings):
        return True

    def execute_async(self, batch_size, bindings, stream_handle, input_consumed=None):
        return True


class _EngineInspector(object):
    def get_engine_information(self, information_format):
        return ENGINE_INFORMATION  # a double knows no layer precisions

    def get_layer_information(self, layer_index, information_format):
        return ENGINE_INFORMATION


_BEHAVIOURS = {
    "Logger": _Logger, "Builder": _Builder, "IBuilderConfig": _BuilderConfig,
    "INetworkDefinition": _Network, "ITensor": _Tensor, "ILayer": _Layer,
    "IOptimizationProfile": _OptimizationProfile, "ITimingCache": _TimingCache,
    "IHostMemory": _HostMemory, "OnnxParser": _OnnxParser, "ParserError": _ParserError,
    "Runtime": _Runtime, "ICudaEngine": _CudaEngine, "IExecutionContext": _ExecutionContext,
    "EngineInspector": _EngineInspector,
}
_BEHAVIOURS.update((name, _Dims) for name in ("Dims", "Dims2", "Dims3", "Dims4", "DimsHW"))

# Module functions the double models (others record and return None).
_FUNCTIONS = {"init_libnvinfer_plugins": lambda world, logger, namespace: True}
