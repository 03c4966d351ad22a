"""tools.trt_surface offline: the pure parts on tiny inputs written here (stubs, a wheel's
__init__.py, C++ binding sources, deltas, the written format, registration events), and the
ELF reader with the abstract interpreter on a hand-assembled shared object where capstone is
installed. No network, no wheels."""
import importlib.metadata
import json
import os
import struct

import pytest

from tools.trt_surface import cpp_bindings, deltas, events, schema, stubs, surfaces
from tools.trt_surface.elf import ElfImage, demangle_all
from tools.trt_surface.pybind import RegistrationTracer, param_types

# pybind11-stubgen's layout: a docstring or `...` on the line after each def
STUB = '''\
import typing
__all__ = ["Builder", "ILogger"]
__version__: str = "10.13"
class Builder:
    gpu_allocator: IGpuAllocator
    def __init__(self, logger: ILogger) -> None:
        ...
    @typing.overload
    def build(self, network: INetworkDefinition) -> bytes:
        ...
    @typing.overload
    def build(self, network: INetworkDefinition, config: IBuilderConfig = None) -> bytes:
        ...
    @property
    def max_threads(self) -> int:
        ...
    @max_threads.setter
    def max_threads(self, arg0: int) -> None:
        ...
    @staticmethod
    def create(kind: int) -> Builder:
        ...
    @staticmethod
    def __enter__(this):
        ...
    def copy(self, in: int, out: int = 0, flag: typing.Dict[str, int]) -> None:
        """`in` and a parameter without default after one with: not Python as it stands"""
class ILogger:
    class Severity:
        ERROR: typing.ClassVar[ILogger.Severity]  # value = <Severity.ERROR: 1>
        INTERNAL_ERROR: typing.ClassVar[ILogger.Severity]  # value = <Severity.INTERNAL_ERROR: 0>
        WARNING: typing.ClassVar[ILogger.Severity]  # value = <Severity.WARNING: 2>
        __members__: typing.ClassVar[dict]  # value = {'INTERNAL_ERROR': <Severity.INTERNAL_ERROR: 0>, 'ERROR': <Severity.ERROR: 1>, 'WARNING': <Severity.WARNING: 2>}
        def __eq__(self, other: typing.Any) -> bool:
            ...
    VERBOSE_LEVEL: typing.ClassVar[int] = 4
    def log(self, severity: ILogger.Severity, msg: str) -> None:
        ...
class BuilderFlag:
    FP16: typing.ClassVar[BuilderFlag]  # value = <BuilderFlag.FP16: 0>
    REFIT: typing.ClassVar[BuilderFlag]  # value = <BuilderFlag.REFIT: 5>
    STRICT_TYPES: typing.ClassVar[BuilderFlag]  # value = <BuilderFlag.REFIT: 5>
def get_plugin_registry() -> IPluginRegistry:
    ...
'''  # noqa: E501 (value comments are as long as stubgen writes them)


def test_stub_classes_methods_overloads_and_properties():
    classes, functions, attributes = stubs.parse_stub(STUB)
    builder = classes["Builder"]
    assert builder["methods"] == {"__init__": ["logger"], "build": ["network"],
                                  "create": ["kind"], "__enter__": [],
                                  "copy": ["in", "out", "flag"]}
    assert builder["overloads"] == {"build": [["network"], ["network", "config"]]}
    assert builder["properties"] == {"gpu_allocator", "max_threads"}
    assert functions == {"get_plugin_registry": []}
    assert attributes == {"__version__"}


def test_stub_enums_nested_classes_and_values():
    classes, _, _ = stubs.parse_stub(STUB)
    assert classes["ILogger"]["attributes"] == {"Severity", "VERBOSE_LEVEL"}
    assert classes["ILogger"]["methods"] == {"log": ["severity", "msg"]}
    severity = classes["ILogger.Severity"]
    # registration order from __members__, not the stub's alphabetical order
    assert severity["enum_members"] == ["INTERNAL_ERROR", "ERROR", "WARNING"]
    assert severity["enum_values"] == {"ERROR": 1, "INTERNAL_ERROR": 0, "WARNING": 2}
    assert classes["BuilderFlag"]["enum_values"] == {"FP16": 0, "REFIT": 5, "STRICT_TYPES": 5}


def test_written_enum_values_only_where_not_0_to_n():
    classes, _, _ = stubs.parse_stub(STUB)
    written = schema.finalize_classes(classes)
    assert written["ILogger.Severity"] == {"enum_members": ["INTERNAL_ERROR", "ERROR", "WARNING"]}
    assert written["BuilderFlag"] == {"enum_members": ["FP16", "REFIT", "STRICT_TYPES"],
                                      "enum_values": {"FP16": 0, "REFIT": 5, "STRICT_TYPES": 5}}
    assert written["ILogger"]["attributes"] == ["Severity", "VERBOSE_LEVEL"]
    assert list(written["Builder"]["methods"]) == ["__enter__", "__init__", "build", "copy",
                                                   "create"]
    assert written["Builder"]["overloads"] == {"build": [["network"], ["network", "config"]]}
    assert written["Builder"]["properties"] == ["gpu_allocator", "max_threads"]


def test_written_class_drops_single_overloads_enum_attributes_and_object_base(capsys):
    entry = schema.new_class_entry()
    entry.update(methods={"run": ["x"]}, overloads={"run": [["x"]], "gone": [["a"], ["b"]]},
                 bases=["object", "IBase"])
    enum = schema.new_class_entry()
    enum.update(enum_members=["B", "A"], enum_values={"A": 0}, attributes={"A", "B", "extra"})
    written = schema.finalize_classes({"Run": entry, "Enum": enum})
    assert written["Run"] == {"methods": {"run": ["x"]}, "properties": [], "bases": ["IBase"]}
    assert written["Enum"] == {"enum_members": ["B", "A"], "attributes": ["extra"]}
    assert "Enum: no value for B" in capsys.readouterr().err


def test_rendered_surface_is_json_with_one_class_per_line():
    text = schema.render_surface("1.0", "here", {"B": schema.new_class_entry(),
                                                 "A": schema.new_class_entry()},
                                 {"z": [], "a": ["x"]}, {"y", "__version__"})
    surface = json.loads(text)
    assert surface == {"version": "1.0", "source": "here",
                       "module_attributes": ["__version__", "y"],
                       "functions": {"a": ["x"], "z": []},
                       "classes": {"A": {"methods": {}, "properties": []},
                                   "B": {"methods": {}, "properties": []}}}
    assert text.splitlines()[-3:] == ['"A": {"methods": {}, "properties": []},',
                                      '"B": {"methods": {}, "properties": []}', "}}"]


def test_surface_differences_name_what_differs():
    reference = {"Gone": {}, "C": {"methods": {"f": ["x"], "g": []}, "properties": ["p"]},
                 "E": {"enum_members": ["A", "B"]}}
    other = {"New": {}, "C": {"methods": {"f": ["y"]}, "properties": ["p", "q"]},
             "E": {"enum_members": ["A", "B"], "enum_values": {"A": 0, "B": 2}}}
    assert schema.surface_differences(reference, other) == [
        "missing methods C.g", "extra properties C.q", "params C.f: [('x',)] vs [('y',)]",
        "value E.B: 1 vs 2", "missing class Gone", "extra class New"]


INIT_PY = '''\
from .tensorrt import *
__version__ = "8.6.1"
_private = 1
CONSTANT = 2
api_name = "x"
def _wrap(self, x):
    return x
def common_enter(this):
    return this
Builder.__enter__ = common_enter
Builder.build_twice = lambda self, network, config=None: None
Builder.DEFAULT = 3
Logger.Severity = ILogger.Severity
if True:
    def volume(iterable):
        return 1
for name, member in ILogger.Severity.__members__.items():
    setattr(ILogger, name, member)
'''


def test_init_py_adds_functions_aliases_and_copies_nested_classes():
    classes = {name: schema.new_class_entry() for name in ("Builder", "ILogger", "Logger")}
    classes["ILogger.Severity"] = dict(schema.new_class_entry(), enum_members=["ERROR"])
    functions, attributes = {}, set()
    stubs.apply_init_py(INIT_PY, classes, functions, attributes)
    assert functions == {"common_enter": ["this"], "volume": ["iterable"]}
    assert attributes == {"__version__", "api_name"}
    assert classes["Builder"]["methods"] == {"__enter__": [], "build_twice": ["network", "config"]}
    assert classes["Builder"]["attributes"] == {"DEFAULT"}
    assert classes["ILogger"]["attributes"] == {"ERROR"}
    assert classes["Logger"]["attributes"] == {"Severity"}
    copied = classes["Logger.Severity"]
    assert copied["enum_members"] == ["ERROR"]
    copied["enum_members"].append("MORE")  # a copy, not the same entry
    assert classes["ILogger.Severity"]["enum_members"] == ["ERROR"]


BINDINGS_CPP = r'''
// bindings "with quotes ( in a comment
void bindCore(py::module& m)
{
    /* a block comment ) */
    auto logger = py::class_<ILogger, PyLogger>(m, "ILogger", R"doc(raw "doc" ()))doc")
        .def(py::init<>())
        .def("log", &ILogger::log, "severity"_a, py::arg("msg"))
        .def("log", &ILogger::log2, "other"_a);
    py::enum_<ILogger::Severity>(logger, "Severity", py::arithmetic())
        .value("ERROR", ILogger::Severity::kERROR)
        .value("WARNING", ILogger::Severity::kWARNING);
    py::class_<Dims> dims(m, "Dims");
    dims.def_readonly("MAX_DIMS", &Dims::MAX_DIMS)
        .def("__len__", [](Dims const& self) { return self.nbDims < 2 ? ')' : 2; })
        .def("resize", &Dims::resize, "n"_a = kMAX < 4, "m"_a);
    m.def("get_plugin_registry", &getPluginRegistry);
    m.def("init_libnvinfer_plugins", &initLibNvInferPlugins, "logger"_a, "namespace"_a);
}
'''


def test_binding_sources_classes_members_and_functions():
    where = "python/src/core.cpp"
    classes, functions = cpp_bindings.parse_binding_sources([(where, BINDINGS_CPP)])
    assert classes == {
        "ILogger": {"methods": {"__init__": [], "log": ["severity", "msg"]}, "properties": [],
                    "enum_members": [], "where": where},
        "ILogger.Severity": {"methods": {}, "properties": [], "enum_members": ["ERROR", "WARNING"],
                             "where": where},
        "Dims": {"methods": {"__len__": [], "resize": ["n", "m"]}, "properties": ["MAX_DIMS"],
                 "enum_members": [], "where": where}}
    assert functions == {"get_plugin_registry": [],
                         "init_libnvinfer_plugins": ["logger", "namespace"]}


def _binding_class(where, methods=None, properties=(), enum_members=()):
    return {"methods": methods or {}, "properties": list(properties),
            "enum_members": list(enum_members), "where": where}


def test_diff_bindings_then_apply_turns_new_into_old():
    new = ({"A": _binding_class("a.cpp", {"f": ["x"], "g": []}, ["p"], []),
            "Gone": _binding_class("gone.cpp")}, {"new_function": []})
    old = ({"A": _binding_class("a_old.cpp", {"f": ["x", "y"], "h": ["z"]}, ["q"]),
            "Old": _binding_class("old.cpp", {"m": []}, ["b", "a", "a"])}, {"old_function": ["v"]})
    delta = deltas.diff_bindings(new, old, "9.0", "8.0")
    url = "https://github.com/NVIDIA/TensorRT/blob/"
    assert delta["from"] == "9.0" and delta["to"] == "8.0"
    assert delta["remove"] == [
        {"class": "A", "method": "g", "source": url + "8.0/a_old.cpp (no g)"},
        {"class": "A", "property": "p", "source": url + "8.0/a_old.cpp (no p)"},
        {"class": "Gone", "source": url + "9.0/gone.cpp (absent at 8.0)"},
        {"function": "new_function", "source": "NVIDIA/TensorRT@8.0 python/src (absent)"}]
    assert delta["add"] == [
        {"class": "A", "method": "h", "params": ["z"], "source": url + "8.0/a_old.cpp"},
        {"class": "A", "method": "f", "params": ["x", "y"], "source": url + "8.0/a_old.cpp",
         "note": "parameters differ from 9.0"},
        {"class": "A", "property": "q", "source": url + "8.0/a_old.cpp"},
        {"class": "Old", "enum_members": [], "properties": ["a", "b"], "methods": {"m": []},
         "source": url + "8.0/old.cpp"},
        {"function": "old_function", "params": ["v"], "source": "NVIDIA/TensorRT@8.0 python/src"}]

    surface = {"A": dict(schema.new_class_entry(), methods={"f": ["x"], "g": []},
                         overloads={"f": [["x"], ["x", "w"]]}, properties={"p"}),
               "Gone": schema.new_class_entry()}
    functions = {"new_function": []}
    deltas.apply_delta(surface, functions, delta)
    assert set(surface) == {"A", "Old"}
    assert surface["A"]["methods"] == {"f": ["x", "y"], "h": ["z"]}
    assert surface["A"]["overloads"] == {}  # the other version's single signature
    assert surface["A"]["properties"] == {"q"}
    assert surface["Old"]["methods"] == {"m": []} and surface["Old"]["properties"] == {"a", "b"}
    assert functions == {"old_function": ["v"]}


def test_delta_removes_nested_classes_and_enum_members_with_their_values():
    outer = dict(schema.new_class_entry(), attributes={"Inner", "Kind"})
    kind = dict(schema.new_class_entry(), enum_members=["A", "B", "C"],
                enum_values={"A": 0, "B": 1, "C": 4})
    classes = {"Outer": outer, "Outer.Inner": schema.new_class_entry(), "Outer.Kind": kind}
    delta = {"remove": [{"class": "Outer.Inner", "source": "s"},
                        {"class": "Outer.Kind", "enum_member": "B", "source": "s"},
                        {"class": "Missing", "method": "x", "source": "s"}],
             "add": [{"class": "Outer.Kind", "enum_member": "A", "source": "s"},
                     {"class": "Outer.Kind", "enum_member": "D", "source": "s"}]}
    derived, _, attributes = deltas.derive_surface(classes, {}, {"x"}, delta)
    assert set(derived) == {"Outer", "Outer.Kind"}
    assert derived["Outer"]["attributes"] == {"Kind"}
    assert derived["Outer.Kind"]["enum_members"] == ["A", "C", "D"]
    assert derived["Outer.Kind"]["enum_values"] == {"A": 0, "C": 4}
    assert attributes == {"x", "__version__"}
    assert set(classes) == {"Outer", "Outer.Inner", "Outer.Kind"}  # the base is left as it was
    assert classes["Outer.Kind"]["enum_members"] == ["A", "B", "C"]


def test_demangled_name_helpers():
    assert events.sig_arity("({%}, {dict[str, {int}]}) -> None") == 2
    assert events.sig_arity("no signature") is None
    assert events.template_args("pybind11::class_<A, B<C, D>, std::unique_ptr<A>>& f()") == [
        "A", "B<C, D>", "std::unique_ptr<A>"]
    assert param_types("pybind11::class_<X>& pybind11::class_<X>::def<F, pybind11::arg>(char "
                       "const*, F&&, pybind11::arg const&) [clone .isra.0]") == [
        "char const*", "F&&", "pybind11::arg const&"]
    assert param_types("not_a_function") is None


def test_demangle_all_keeps_clone_suffixes_and_plain_names():
    assert demangle_all(["_Z3fooi", "_Z3fooi.cold", "PyInit_tensorrt"]) == {
        "_Z3fooi": "foo(int)", "_Z3fooi.cold": "foo(int) [clone .cold]",
        "PyInit_tensorrt": "PyInit_tensorrt"}


def test_events_become_classes_methods_enums_and_functions():
    logger, severity = ("S", -24), ("S", -16)
    stream = [
        {"kind": "entry", "name": "PyInit_tensorrt"},
        {"kind": "class", "name": "ILogger", "obj": logger, "scope": ("P", "module")},
        {"kind": "arg", "name": "severity"}, {"kind": "arg", "name": "msg"},
        {"kind": "function_record", "nargs": 3},
        {"kind": "method", "name": "log", "obj": logger},
        {"kind": "function_record", "sig": "({%}, {int}) -> None"},  # pybind11-named parameters
        {"kind": "method", "name": "log", "obj": logger},
        {"kind": "property", "name": "level", "obj": logger},
        {"kind": "function_record", "nargs": 1},
        {"kind": "method", "name": "_pybind11_conduit_v1_", "obj": logger},
        {"kind": "class", "name": "Severity", "obj": severity, "scope": ("T", 1)},
        {"kind": "enum_value", "name": "ERROR", "value": 1, "obj": severity},
        {"kind": "enum_value", "name": "WARNING", "value": 3, "obj": severity},
        {"kind": "function_record", "nargs": 2},
        {"kind": "function", "name": "volume"},
    ]
    classes, functions = events.build_surface(stream)
    assert classes["ILogger"]["methods"] == {"log": ["severity", "msg"]}
    assert classes["ILogger"]["overloads"] == {"log": [["severity", "msg"], ["arg0"]]}
    assert classes["ILogger"]["properties"] == {"level"}
    assert classes["ILogger"]["attributes"] == {"Severity"}
    assert classes["ILogger.Severity"]["enum_members"] == ["ERROR", "WARNING"]
    assert classes["ILogger.Severity"]["enum_values"] == {"ERROR": 1, "WARNING": 3}
    assert functions == {"volume": ["arg0", "arg1"]}


def test_events_bases_from_templates_and_static_methods_through_getattr():
    base, derived = ("S", -8), ("S", -16)
    builder_template = ("pybind11::class_<nvinfer1::IBuilder, nvinfer1::IBase, "
                        "std::unique_ptr<nvinfer1::IBuilder>>& pybind11::class_<nvinfer1::IBuilder"
                        ", nvinfer1::IBase>::def<F>(char const*, F&&)")
    stream = [
        {"kind": "class", "name": "IBase", "obj": base},
        {"kind": "function_record", "nargs": 1},
        {"kind": "method", "name": "size", "obj": base, "self": base, "ctx": "nvinfer1::IBase",
         "tmpl": "pybind11::class_<nvinfer1::IBase>& pybind11::class_<nvinfer1::IBase>::def<F>"},
        {"kind": "class", "name": "IBuilder", "obj": derived},
        {"kind": "function_record", "nargs": 2},
        {"kind": "method", "name": "build", "obj": derived, "self": derived,
         "ctx": "nvinfer1::IBuilder", "tmpl": builder_template},
        {"kind": "getattr", "name": "create", "obj": derived, "tmpl": "x::def_static<F>"},
        {"kind": "function_record", "nargs": 1, "ptrargs": ["kind"]},
        {"kind": "entry", "name": "next entry point"},
    ]
    classes, _ = events.build_surface(stream)
    assert classes["IBuilder"]["bases"] == ["IBase"]
    assert classes["IBase"]["bases"] == []
    assert classes["IBuilder"]["methods"] == {"build": ["arg0"], "create": ["kind"]}


def test_installed_stubs_regenerate_the_committed_10_13_surface(tmp_path):
    """Where tensorrt-stubs 10.13 is installed, the package writes surface-10.13.json byte for
    byte as committed (`pip install --no-deps tensorrt-stubs==10.13.0.35.1`)."""
    try:
        installed = importlib.metadata.version("tensorrt-stubs")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed != "10.13.0.35.1" or stubs.installed_stub_file() is None:
        pytest.skip("tensorrt-stubs==10.13.0.35.1 is not installed")
    written = surfaces.write_stub_surface(str(tmp_path))
    with open(written) as new, open(os.path.join(surfaces.OUT_DIR, "surface-10.13.json")) as old:
        assert new.read() == old.read()


# -- a hand-assembled shared object for the ELF reader and the abstract interpreter -----------
SHIFT = 0x400000  # section addresses differ from file offsets, as in a real library
TEXT, RODATA, DATA = 0x1000, 0x2000, 0x3000  # file offsets
SINK_NAMES = {
    "init_class": "pybind11::detail::generic_type::initialize(pybind11::detail::type_record "
                  "const&)",
    "arg": "pybind11::detail::process_attribute<pybind11::arg, void>::init(pybind11::arg "
           "const&, pybind11::detail::function_record*)",
    "record": "pybind11::cpp_function::initialize_generic(std::unique_ptr<pybind11::detail::"
              "function_record>&&, char const*, std::type_info const* const*, unsigned long)",
    "method": "pybind11::detail::add_class_method(pybind11::object&, char const*, "
              "pybind11::cpp_function const&)",
    "enum_base_value": "pybind11::detail::enum_base::value(char const*, pybind11::object, "
                       "char const*)",
    "cast": "pybind11::detail::type_caster_base<nvinfer1::Severity>::cast(nvinfer1::Severity "
            "const*, pybind11::return_value_policy, pybind11::handle)",
}
ENUM_VALUE = ("pybind11::enum_<nvinfer1::Severity>::value(char const*, nvinfer1::Severity, "
              "char const*)")


class Assembler:
    """x86-64 bytes at a known address; rip-relative operands from absolute targets."""

    def __init__(self, address):
        self.start, self.code = address, bytearray()

    @property
    def here(self):
        return self.start + len(self.code)

    def emit(self, raw):
        self.code += raw

    def rip(self, opcode, target):
        """An instruction that ends with a disp32 relative to its own end (lea, mov, call)."""
        self.code += opcode + struct.pack("<i", target - (self.here + len(opcode) + 4))


def build_library():
    """(ELF bytes, {label: address}): PyInit_tensorrt registers class ILogger (its record
    copied from static data with one 16-byte move) with method log(severity, msg) (its name
    through a relocated pointer), then the nested enum ILogger.Severity with ERROR = 1 and
    UNSET = -1 (edx into enum_<T>::value, which tail-calls enum_base::value) and VERBOSE = 4
    (inlined: a 32-bit stack slot that the cast reads)."""
    strings, rodata = {}, bytearray()
    for text in ("ILogger", "Severity", "severity", "msg", "log", "ERROR", "UNSET", "VERBOSE",
                 "({%}, {%}, {str}) -> None"):
        strings[text] = SHIFT + RODATA + len(rodata)
        rodata += text.encode() + b"\0"
    # .data.rel.ro: a type_record template {scope 0, name -> "ILogger"}, a pointer to "log"
    data = bytearray(24)
    record_template, log_pointer = SHIFT + DATA, SHIFT + DATA + 16
    relocations = [(record_template + 8, strings["ILogger"]), (log_pointer, strings["log"])]

    functions, code = {}, Assembler(SHIFT + TEXT)
    for label in SINK_NAMES:
        functions[label] = (code.here, 1)
        code.emit(b"\xc3")  # ret
    functions["enum_value"] = (code.here, 5)
    code.rip(b"\xe9", functions["enum_base_value"][0])  # jmp: a tail call
    init = code.here
    code.emit(bytes.fromhex("4883ec58"))  # sub rsp, 0x58
    # class ILogger: record at [rsp+0x10] (scope, then name), class object at [rsp+0x40]
    code.rip(bytes.fromhex("0f1005"), record_template)  # movups xmm0, [rip+template]
    code.emit(bytes.fromhex("0f11442410"))  # movups [rsp+0x10], xmm0
    code.emit(bytes.fromhex("488d742410"))  # lea rsi, [rsp+0x10]
    code.emit(bytes.fromhex("488d7c2440"))  # lea rdi, [rsp+0x40]
    code.rip(b"\xe8", functions["init_class"][0])
    for name in ("severity", "msg"):
        code.rip(bytes.fromhex("488d3d"), strings[name])  # lea rdi, [rip+name]
        code.rip(b"\xe8", functions["arg"][0])
    code.rip(bytes.fromhex("488d15"), strings["({%}, {%}, {str}) -> None"])  # lea rdx
    code.emit(bytes.fromhex("4531c0"))  # xor r8d, r8d: no count, so the signature's
    code.rip(b"\xe8", functions["record"][0])
    code.emit(bytes.fromhex("488d7c2440"))  # lea rdi, [rsp+0x40]
    code.rip(bytes.fromhex("488b35"), log_pointer)  # mov rsi, [rip+pointer]
    code.rip(b"\xe8", functions["method"][0])
    # class Severity, scope ILogger's type object: object at [rsp+0x48]
    code.emit(bytes.fromhex("488b442440"))  # mov rax, [rsp+0x40]
    code.emit(bytes.fromhex("4889442410"))  # mov [rsp+0x10], rax
    code.rip(bytes.fromhex("488d05"), strings["Severity"])  # lea rax, [rip+name]
    code.emit(bytes.fromhex("4889442418"))  # mov [rsp+0x18], rax
    code.emit(bytes.fromhex("488d742410"))  # lea rsi, [rsp+0x10]
    code.emit(bytes.fromhex("488d7c2448"))  # lea rdi, [rsp+0x48]
    code.rip(b"\xe8", functions["init_class"][0])
    for name, value in (("ERROR", 1), ("UNSET", 0xFFFFFFFF)):
        code.emit(bytes.fromhex("488d7c2448"))  # lea rdi, [rsp+0x48]
        code.rip(bytes.fromhex("488d35"), strings[name])  # lea rsi, [rip+name]
        code.emit(b"\xba" + struct.pack("<I", value))  # mov edx, value
        code.rip(b"\xe8", functions["enum_value"][0])
    code.emit(bytes.fromhex("c744240804000000"))  # mov dword [rsp+8], 4
    code.emit(bytes.fromhex("488d7c2408"))  # lea rdi, [rsp+8]
    code.rip(b"\xe8", functions["cast"][0])
    code.emit(bytes.fromhex("488d7c2448"))  # lea rdi, [rsp+0x48]
    code.rip(bytes.fromhex("488d35"), strings["VERBOSE"])  # lea rsi, [rip+name]
    code.rip(b"\xe8", functions["enum_base_value"][0])
    code.emit(bytes.fromhex("4883c458c3"))  # add rsp, 0x58; ret
    functions["init"] = (init, code.here - init)

    names = dict(SINK_NAMES, enum_value=ENUM_VALUE, init="PyInit_tensorrt")
    # an alias first: of two names for one address the shorter is kept, with its size
    symbols = [("PyInit_tensorrt_longer_alias", init, 1)]
    symbols += [(names[label], address, size) for label, (address, size) in functions.items()]
    rela = b"".join(struct.pack("<QQq", at, 8, to) for at, to in relocations)
    return _elf([(".text", 1, 6, SHIFT + TEXT, TEXT, bytes(code.code)),
                 (".rodata", 1, 2, SHIFT + RODATA, RODATA, bytes(rodata)),
                 (".data.rel.ro", 1, 3, SHIFT + DATA, DATA, bytes(data)),
                 (".rela.dyn", 4, 2, 0, DATA + 0x100, rela)], symbols, text_index=1)


def _elf(sections, symbols, text_index):
    """A 64-bit ELF of the given (name, type, flags, addr, file offset, bytes) sections, plus
    .symtab, .strtab (function symbols in the section text_index) and .shstrtab."""
    strtab, symtab = bytearray(b"\0"), bytearray(24)
    for name, address, size in symbols:
        symtab += struct.pack("<IBBHQQ", len(strtab), 0x12, 0, text_index, address, size)
        strtab += name.encode() + b"\0"
    offset = max(s[4] + len(s[5]) for s in sections)
    sections = list(sections)
    for name, kind, content in ((".symtab", 2, bytes(symtab)), (".strtab", 3, bytes(strtab))):
        sections.append((name, kind, 0, 0, offset, content))
        offset += len(content)
    shstrtab = b"\0" + b"".join(s[0].encode() + b"\0" for s in sections) + b".shstrtab\0"
    sections.append((".shstrtab", 3, 0, 0, offset, shstrtab))
    header_offset = offset + len(shstrtab)
    image = bytearray(header_offset + 64 * (len(sections) + 1))
    image[:7] = b"\x7fELF\x02\x01\x01"
    struct.pack_into("<Q", image, 0x28, header_offset)
    struct.pack_into("<HHH", image, 0x3A, 64, len(sections) + 1, len(sections))
    name_offset = 1
    for i, (name, kind, flags, address, file_offset, content) in enumerate(sections, start=1):
        image[file_offset:file_offset + len(content)] = content
        struct.pack_into("<IIQQQQIIQQ", image, header_offset + 64 * i, name_offset, kind, flags,
                         address, file_offset, len(content), 0, 0, 1, 0)
        name_offset += len(name) + 1
    return bytes(image), {name: address for name, address, _ in symbols}


def test_elf_image_symbols_strings_and_relocated_pointers():
    data, addresses = build_library()
    image = ElfImage(data)
    init = addresses["PyInit_tensorrt"]
    assert image.funcs[init][0] == "PyInit_tensorrt"
    assert image.code(init, 4) == bytes.fromhex("4883ec58")
    log_pointer = SHIFT + DATA + 16
    assert image.cstring(image.pointer_at(log_pointer)) == "log"
    assert image.pointer_at(SHIFT + DATA) == 0  # not relocated: what the file holds
    assert image.cstring(init) is None  # code is not string data
    with pytest.raises(ValueError):
        ElfImage(b"\x7fELF\x01" + bytes(60))


def test_interpreted_module_init_registers_classes_methods_and_enum_values():
    capstone = pytest.importorskip("capstone")
    disassembler = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    disassembler.detail = True
    image = ElfImage(build_library()[0])
    identity = {name: name for name, _ in image.funcs.values()}
    stream = RegistrationTracer(image, disassembler, identity).analyse({"PyInit_tensorrt"})
    classes, functions = events.build_surface(stream)
    assert schema.finalize_classes(classes) == {
        "ILogger": {"methods": {"log": ["severity", "msg"]}, "properties": [],
                    "attributes": ["Severity"]},
        "ILogger.Severity": {"enum_members": ["UNSET", "ERROR", "VERBOSE"],
                             "enum_values": {"UNSET": -1, "ERROR": 1, "VERBOSE": 4}}}
    assert functions == {}


def test_only_takes_the_surfaces_read_straight_from_a_wheel():
    from tools.trt_surface.__main__ import parse_args
    from tools.trt_surface.surfaces import DIRECT

    assert parse_args(["--only", "10.3", "--only", "10.16"]).only == ["10.3", "10.16"]
    assert set(DIRECT) == {"8.6", "10.3", "10.16", "11.4"}
    with pytest.raises(SystemExit):  # 8.5 is derived with deltas, not read from one wheel
        parse_args(["--only", "8.5"])
