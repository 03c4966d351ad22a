"""Classes and functions from the registration events of pybind11 module-init code (pybind.py).

pybind11 registers a binding in steps, and the events come in that order: the parameter names
(arg events), then the function record (its arity), then the method, function or static
attribute that takes the record. A class event opens a class (nested under the class whose
type object is its scope); enum members belong to the class opened last. Parameters that
pybind11 names itself come out as arg0, arg1, ... just as at run time. Bases are read from the
class_<T, Base, ...> template arguments, once every class's C++ name is known.
"""
from typing import Any, Dict, List, Optional, Tuple

from tools.trt_surface.pybind import IDENT
from tools.trt_surface.schema import Classes, Functions, Params, add_method, new_class_entry

Event = Dict[str, Any]
FunctionRecord = Tuple[List[str], Optional[int], Optional[List[str]]]  # names, arity, pointed-at
CONDUIT = "_pybind11_conduit_v1_"  # pybind11 3 adds it to every class; not TensorRT's API


def sig_arity(signature: Optional[str]) -> Optional[int]:
    """The parameter count of a pybind11 signature template such as "({%}, {int}) -> {None}"
    (one brace group per parameter)."""
    if not signature or not signature.startswith("("):
        return None
    end = signature.rfind(") -> ")
    head = signature[1:end] if ") -> " in signature else signature[1:]
    depth = count = 0
    for char in head:
        if char == "{":
            if depth == 0:
                count += 1
            depth += 1
        elif char == "}":
            depth -= 1
    return count


def template_args(demangled: str, prefix: str = "pybind11::class_<") -> List[str]:
    """The top-level template arguments of the first `prefix...>` in a demangled name."""
    i = demangled.find(prefix)
    if i < 0:
        return []
    i += len(prefix)
    depth, current, args = 1, "", []
    while i < len(demangled) and depth:
        char = demangled[i]
        if char in "<(":
            depth += 1
        elif char in ">)":
            depth -= 1
            if depth == 0:
                break
        if char == "," and depth == 1:
            args.append(current.strip())
            current = ""
        else:
            current += char
        i += 1
    if current.strip():
        args.append(current.strip())
    return args


def params_of(record: Optional[FunctionRecord], is_method: bool) -> Params:
    """A binding's parameter names (without self): the arg names where there are enough, else
    the names the arg objects point at, else arg0, arg1, ... as pybind11 names them."""
    names, arity, pointed_at = record if record else ([], None, None)
    params = list(names)
    wanted = None if arity is None else arity - (1 if is_method else 0)
    if wanted is not None and (len(params) < wanted or "?" in params) and pointed_at \
            and len(pointed_at) == wanted:
        params = list(pointed_at)
    if wanted is not None and not params and wanted > 0:
        params = ["arg%d" % i for i in range(wanted)]
    return params


class SurfaceBuilder:
    """Feeds on events in order; classes and functions hold the result."""

    def __init__(self) -> None:
        self.classes: Classes = {}
        self.functions: Functions = {}
        self.class_of_object: Dict[Any, str] = {}  # abstract value of a class object -> class
        self.class_of_token: Dict[int, str] = {}  # index of a class event -> class
        self.cpp_type_of: Dict[str, str] = {}
        self.template_of: Dict[str, str] = {}
        self.current: Optional[str] = None  # the class opened last
        self.arg_names: List[str] = []  # arg events since the last function record
        self.last_record: Optional[FunctionRecord] = None
        # def_static sets a class attribute through getattr/setattr, without add_class_method:
        # {"name", "cls", "rec"} until the attribute's record arrives
        self.static_method: Optional[Dict[str, Any]] = None

    def entry(self, name: str) -> Dict[str, Any]:
        return self.classes.setdefault(name, new_class_entry())

    def add_method(self, cls: str, name: str, params: Params) -> None:
        add_method(self.entry(cls), name, params)

    def class_of(self, event: Event) -> Optional[str]:
        if event.get("self") is not None:
            return self.class_of_object.get(event["self"], self.current)
        return self.class_of_object.get(event.get("obj"), self.current)

    def flush_static_method(self) -> None:
        pending, self.static_method = self.static_method, None
        if pending and pending.get("rec") is not None and pending.get("cls"):
            self.add_method(pending["cls"], pending["name"], params_of(pending["rec"], False))

    def feed(self, index: int, event: Event) -> None:
        kind = event["kind"]
        if kind == "entry":
            self.flush_static_method()
            self.current, self.arg_names = None, []
        elif kind == "class":
            self.flush_static_method()
            self.open_class(index, event)
        elif kind == "arg":
            self.arg_names.append(event.get("name") or "?")
        elif kind == "function_record":
            self.take_record(event)
        elif kind == "getattr":
            self.flush_static_method()
            if event.get("name") and "::def_static<" in (event.get("tmpl") or ""):
                self.static_method = {"name": event["name"], "cls": self.class_of(event)}
        elif event.get("name"):
            self.register(kind, event["name"], event)

    def open_class(self, index: int, event: Event) -> None:
        name = event.get("name")
        if not name:
            return
        scope = event.get("scope")
        parent = self.class_of_token.get(scope[1]) if scope and scope[0] == "T" else None
        full = parent + "." + name if parent else name
        self.class_of_object[event["obj"]] = full
        self.class_of_token[index] = full
        self.current = full
        self.entry(full)
        self.arg_names = []
        if parent:
            self.entry(parent)["attributes"].add(name)

    def take_record(self, event: Event) -> None:
        signature_args = event.get("sigargs")
        if signature_args and all(a and IDENT.match(a) for a in signature_args) \
                and len(signature_args) >= len(self.arg_names):
            self.arg_names = list(signature_args)
        self.last_record = (self.arg_names, event.get("nargs") or sig_arity(event.get("sig")),
                            event.get("ptrargs"))
        self.arg_names = []
        if self.static_method is not None and self.static_method.get("rec") is None:
            self.static_method["rec"] = self.last_record
        defname = event.get("defname")
        if "::def_static<" in (event.get("tmpl") or "") and defname and IDENT.match(defname):
            cls = self.class_of(event)
            if cls:  # def_static sets the attribute itself, there is no add_class_method
                self.add_method(cls, defname, params_of(self.last_record, False))
            self.last_record = None

    def register(self, kind: str, name: str, event: Event) -> None:
        """A method, property, enum member or module function named name."""
        if self.static_method is not None and self.static_method["name"] == name:
            self.static_method = None  # registered after all, as a method
        if kind == "enum_value":
            if self.current and name not in self.entry(self.current)["enum_members"]:
                self.entry(self.current)["enum_members"].append(name)
                if event.get("value") is not None:
                    self.entry(self.current)["enum_values"][name] = event["value"]
            return
        cls = self.class_of(event) if kind != "function" else None
        if cls and event.get("ctx") and event.get("self") is not None:
            self.cpp_type_of.setdefault(cls, event["ctx"])
            self.template_of.setdefault(cls, event.get("tmpl") or "")
        if kind == "property":
            if cls:
                self.entry(cls)["properties"].add(name)
            self.last_record = None
        elif name == CONDUIT:
            self.last_record = None
        elif kind in ("method", "function"):
            params = params_of(self.last_record, kind == "method")
            self.last_record = None
            if kind == "function":
                self.functions.setdefault(name, params)
            elif cls:
                self.add_method(cls, name, params)

    def finish(self) -> None:
        self.flush_static_method()
        class_of_cpp: Dict[str, str] = {}
        for cls, cpp in self.cpp_type_of.items():
            class_of_cpp.setdefault(cpp, cls)
        for cls, template in self.template_of.items():
            bases = template_args(template)[1:]  # class_<T, Bases..., Holder>
            self.entry(cls)["bases"] = [class_of_cpp[b] for b in bases
                                        if b in class_of_cpp and class_of_cpp[b] != cls]


def build_surface(events: List[Event]) -> Tuple[Classes, Functions]:
    builder = SurfaceBuilder()
    for index, event in enumerate(events):
        builder.feed(index, event)
    builder.finish()
    return builder.classes, builder.functions
