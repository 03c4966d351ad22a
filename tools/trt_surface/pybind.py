"""What pybind11 module-init code registers, as events, from the abstract machine's calls.

The entry points (PyInit_tensorrt, tensorrt::pybind11_exec_tensorrt) run abstractly; calls to
the pybind11 functions that register things are recorded with the string constants their
arguments carry (generic_type::initialize -> class, add_class_method -> method,
def_property_static_impl -> property, enum_base::value -> enum member, module_::add_object ->
function, process_attribute<arg/arg_v>::init -> parameter name, initialize_generic -> arity),
and the pybind11 templates that build bindings (class_<T>::def<...>, enum_<T>::value, the
tensorrt::bind* functions, ...) are followed into, since their out-of-line clones only make
sense with the caller's arguments. Everything else is an opaque call.

Events are dicts with "kind" ("entry", "class", "method", "property", "enum_value",
"function", "arg", "getattr", "function_record") and, where known: "name"; "obj" (the object
registered on); "scope" (a class's parent: ("T", event index) for a nested class); "value"
(enum members); "sig", "nargs", "sigargs", "ptrargs", "defname" (function records); "ctx",
"tmpl", "self" (the C++ class, class_<> template and class object of the enclosing template).
events.py turns them into classes.

Enum values come from the value argument of enum_<T>::value(name, value, doc) (an immediate in
edx at the call) or, where that call is inlined, from the 32-bit stack slot that the value's
cast (type_caster_base<T>::cast / object_api::operator()(int&&)) reads.
"""
import re
from typing import Any, Dict, Iterable, List, Optional

from tools.trt_surface.disasm import (ARGUMENT_REGISTERS, CALLER_SAVED, Machine, MachineState,
                                      Operand, Value, pointee_key)

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_DEPTH = 6  # how deep templates are followed from the entry point
MAX_FOLLOWED_SIZE = 40000  # bytes; larger template instances are not registration code
# substring of a demangled callee -> the event its call records
SINKS = {
    "generic_type::initialize(": "class",
    "detail::add_class_method(": "method",
    "def_property_static_impl(": "property",
    "enum_base::value(": "enum_value",
    "module_::add_object(": "function",
    "process_attribute<pybind11::arg, void>::init(": "arg",
    "process_attribute<pybind11::arg_v, void>::init(": "arg",
    "pybind11::getattr(": "getattr",
    "cpp_function::initialize_generic(": "function_record",
}
# pybind11 templates that build bindings: followed into (they are often out-of-line clones
# whose arguments, or constant-propagated strings, only make sense inside them)
FOLLOW = re.compile(
    r"(pybind11::class_<.*::(def|def_static|def_property|def_property_readonly|def_readwrite|"
    r"def_readonly|def_property_static|def_property_readonly_static|def_readonly_static|class_)<"
    r"|pybind11::class_<[^(]*::(def|def_static|def_property\w*|def_readwrite|def_readonly)\("
    r"|pybind11::enum_<.*::(enum_<|value\()"
    r"|pybind11::module_::def<|pybind11::cpp_function::cpp_function<"
    r"|pybind11::cpp_function::initialize<"
    r"|pybind11::detail::initimpl::.*::execute<|pybind11::arg::operator=|pybind11::arg_v::arg_v"
    r"|pybind11::detail::process_attributes<|tensorrt::bind\w*\(pybind11::module_&\)"
    r"|pybind11::detail::argument_loader)")
# ... except the code that runs when Python calls a binding, not when it is registered
NOT_FOLLOW = re.compile(r"\.cold|_FUN\(|\{lambda\(pybind11::detail::function_call&\)"
                        r"|::operator\(\)|::dealloc\(|::init_instance\(|::init_holder\(")
ENUM_CAST = re.compile(r"pybind11::detail::type_caster_base<[^>]*>::cast\([^,]* const\*, ")
INT_CALL = re.compile(r"pybind11::object pybind11::detail::object_api<pybind11::handle>"
                      r"::operator\(\)<\(pybind11::return_value_policy\)\d, int>\(int&&\)")
ENUM_VALUE_CALL = re.compile(r"pybind11::enum_<.*>::value\(char const\*, [^,]+, char const\*\)"
                             r"( \[clone \.constprop\.\d+\])?$")
BOUND_TEMPLATE = re.compile(r"pybind11::(?:class_|enum_)<(.*?)(?:, |>)")
ARG_TYPES = ("pybind11::arg const&", "pybind11::arg_v const&")


def param_types(demangled: str) -> Optional[List[str]]:
    """Top-level parameter types of a demangled function name, None if it has no parameter
    list."""
    name = re.sub(r"( \[clone [^\]]*\])+$", "", demangled)
    name = re.sub(r"( const| volatile| &| &&| noexcept)+$", "", name)
    if not name.endswith(")"):
        return None
    depth, i = 0, len(name) - 1
    while i >= 0:  # back to the bracket that opens the parameter list
        char = name[i]
        if char in ")>]":
            depth += 1
        elif char in "(<[":
            depth -= 1
            if depth == 0 and char == "(":
                break
        i -= 1
    types, depth, current = [], 0, ""
    for char in name[i + 1:-1]:
        if char in "(<[":
            depth += 1
        elif char in ")>]":
            depth -= 1
        if char == "," and depth == 0:
            types.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        types.append(current.strip())
    return types


def sink_kind(name: str) -> Optional[str]:
    return next((kind for pattern, kind in SINKS.items() if pattern in name), None)


def is_followed(name: str, size: int) -> bool:
    return bool(FOLLOW.search(name)) and not NOT_FOLLOW.search(name) and (
        size < MAX_FOLLOWED_SIZE or name.startswith("tensorrt::bind"))


class RegistrationTracer(Machine):
    """The abstract machine with pybind11's registration calls recorded as events.
    demangled: {mangled symbol name: demangled name} for the image's functions."""

    def __init__(self, image: Any, disassembler: Any, demangled: Dict[str, str]) -> None:
        super().__init__(image, disassembler)
        self.demangled = demangled
        self.events: List[Dict[str, Any]] = []

    def analyse(self, entry_names: Iterable[str]) -> List[Dict[str, Any]]:
        """Run every function whose demangled name is in entry_names; returns the events."""
        entry_names = set(entry_names)
        for address, (mangled, _) in sorted(self.image.funcs.items()):
            if self.demangled.get(mangled) in entry_names:
                state = MachineState({"rsp": ("S", 0), "rdi": ("P", "module")})
                self.events.append(dict(kind="entry", name=self.demangled[mangled]))
                self.run(address, state, 0, {})
        return self.events

    def call(self, state: MachineState, ops: List[Operand], depth: int,
             context: Dict[str, Any]) -> None:
        target = ops[0][1] if ops and ops[0][0] == "i" else None
        symbol = self.image.funcs.get(target) if target is not None else None
        name = self.demangled.get(symbol[0], symbol[0]) if symbol else ""
        args = [state.regs.get(r) for r in ARGUMENT_REGISTERS]
        self._note_enum_cast(state, name, args)
        kind = sink_kind(name)
        if kind:
            self.record(state, kind, args, context)
        elif symbol and target is not None and depth < MAX_DEPTH and is_followed(name, symbol[1]):
            self._follow(state, target, name, args, depth, context)
            return
        self.forget_caller_saved(state)

    def _note_enum_cast(self, state: MachineState, name: str, args: List[Value]) -> None:
        """Where enum_<T>::value is inlined, its value reaches Python through a cast that reads
        it from a 32-bit slot; keep that value for the enum_base::value call that follows."""
        pointer = None
        if ENUM_CAST.match(name) or name.startswith(
                "pybind11::detail::type_caster_generic::src_and_type(void const*"):
            pointer = args[0]
        elif INT_CALL.match(name):
            pointer = args[2]  # (result, this, &value)
        if pointer is not None:
            key = pointee_key(pointer)
            state.enum_int = state.mem32.get(key) if key is not None else None

    def _follow(self, state: MachineState, target: int, name: str, args: List[Value],
                depth: int, context: Dict[str, Any]) -> None:
        """Run a binding template with what it was called with, then return as a call does."""
        saved = dict(state.regs)
        top = state.regs.get("rsp")
        if top and top[0] == "S":
            state.regs["rsp"] = ("S", top[1] - 8)  # the return address
        inner = self._template_context(state, name, args, context)
        returns = self.run(target, state, depth + 1, inner)
        state.regs = saved
        for register in CALLER_SAVED:
            state.regs[register] = None
        if re.match(r"pybind11::(class_|enum_)<", name) and ">& pybind11::" in name:
            state.regs["rax"] = args[0]  # these return *this
        else:
            state.regs["rax"] = next((r for r in reversed(returns) if r is not None), None)

    def _template_context(self, state: MachineState, name: str, args: List[Value],
                          context: Dict[str, Any]) -> Dict[str, Any]:
        """What the events inside a followed template need to know about the call."""
        inner = dict(context)
        bound = BOUND_TEMPLATE.match(name)
        if bound and "cls_cpp" not in context:  # the outermost class_<T> / enum_<T> method
            inner["cls_cpp"] = bound.group(1)
            inner["cls_tmpl"] = name
            inner["self"] = args[0]
            inner["defname"] = self.string(args[1])
        types = param_types(name) or []
        if "isra" not in name and "constprop" not in name and re.search(r"::def(_static)?<", name):
            # def(name, f, arg("x"), ...): the parameter names are the arg objects' names
            positions = [i + 1 for i, t in enumerate(types) if t in ARG_TYPES]
            inner["sigargs"] = [self.deref_string(state, self._argument(state, args, p))
                                for p in positions]
        if "cls_cpp" in inner and "ptrargs" not in context and any(t in ARG_TYPES for t in types):
            inner["ptrargs"] = self._arg_names_pointed_at(state, args)
        if ENUM_VALUE_CALL.match(name):
            value = args[2]  # (this, name, value, doc): the value is passed in edx
            inner["enum_value"] = value[1] if value and value[0] == "I" else None
        return inner

    def _argument(self, state: MachineState, args: List[Value], position: int) -> Value:
        if position < len(ARGUMENT_REGISTERS):
            return args[position]
        top = state.regs.get("rsp")
        if top and top[0] == "S":
            return self.load(state, ("S", top[1] + 8 * (position - len(ARGUMENT_REGISTERS))))
        return None

    def _arg_names_pointed_at(self, state: MachineState, args: List[Value]) -> List[str]:
        """The names of the arg objects that a def() call's extras point at (a pybind11::arg
        starts with its name), from the argument registers and the first stack slots; used
        where the argument records themselves are out of reach."""
        candidates = list(args[1:])
        top = state.regs.get("rsp")
        if top and top[0] == "S":
            candidates += [self.load(state, ("S", top[1] + 8 * k)) for k in range(4)]
        names = []
        for value in candidates:
            if value and value[0] == "S":
                text = self.string(self.load(state, value))
                if text and IDENT.match(text):
                    names.append(text)
        return names

    def record(self, state: MachineState, kind: str, args: List[Value],
               context: Dict[str, Any]) -> None:
        event = dict(kind=kind, ctx=context.get("cls_cpp"), tmpl=context.get("cls_tmpl"),
                     self=context.get("self"))
        if kind == "class":
            record = args[1]  # pybind11::detail::type_record: scope at 0, name at 8
            event["name"] = self.string(self.load(state, pointee_key(record, 8)))
            event["obj"] = args[0]
            event["scope"] = self.load(state, pointee_key(record, 0))
            key = pointee_key(args[0])
            if key is not None:  # the new type object: a token that nested scopes refer to
                state.mem[key] = ("T", len(self.events))
        elif kind == "arg":
            event["name"] = self.deref_string(state, args[0])
        elif kind in ("method", "property", "enum_value", "function"):
            if kind == "enum_value":
                event["value"] = self._enum_value(state, context)
            event["obj"] = args[0]
            event["name"] = self.string(args[1])
            if event["name"] is None:  # an .isra clone may pass its arguments elsewhere
                event["name"] = self._first_identifier(args)
        elif kind == "function_record":
            event["sigargs"] = context.get("sigargs")
            event["ptrargs"] = context.get("ptrargs")
            event["defname"] = context.get("defname")
            event["sig"] = self.string(args[2])
            event["nargs"] = args[4][1] if args[4] and args[4][0] == "I" else None
        elif kind == "getattr":
            event["obj"] = args[0]
            event["name"] = self._first_identifier(args[1:])
        self.events.append(event)

    def _first_identifier(self, args: List[Value]) -> Optional[str]:
        return next((s for s in (self.string(a) for a in args) if s and IDENT.match(s)), None)

    @staticmethod
    def _enum_value(state: MachineState, context: Dict[str, Any]) -> Optional[int]:
        """The enum_<T>::value call's value argument, else the inlined cast's; signed 32-bit."""
        cast, state.enum_int = state.enum_int, None
        value = context.get("enum_value")
        if value is None and cast is not None:
            value = cast[1]
        if value is not None and 1 << 31 <= value < 1 << 32:
            return value - (1 << 32)
        return value
