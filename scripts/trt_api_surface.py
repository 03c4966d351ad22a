#!/usr/bin/env python3
"""Derive the Python API surface of several TensorRT versions, as data for test doubles.

Run (from the repository root, network access to PyPI needed; nothing is installed in the venv):

    python scripts/trt_api_surface.py                      # writes tests/trt_api/surface-*.json
    python scripts/trt_api_surface.py --make-deltas REPO   # also rebuilds tests/trt_api/deltas.json
                                                           # from a git clone of NVIDIA/TensorRT

What it reads, per version:

* 10.13   the `tensorrt-stubs==10.13.0.35.1` package in this interpreter's site-packages
          (`tensorrt_bindings/tensorrt.pyi`, pybind11-stubgen output), parsed with `ast`.
* 11.4    wheel `tensorrt-cu13-bindings==11.4.0.106` (pip download into a temp dir).
* 8.6     wheel `tensorrt_bindings==8.6.1`.
* 8.4     wheel `nvidia-tensorrt==8.4.1.5` (~740 MB; only its tensorrt.so is read). Used as the
          base for 8.2; it is not written out itself.
* 8.5     = the 8.6.1 wheel's surface with the differences between the binding sources of
          NVIDIA/TensorRT at tags release/8.6 and 8.5.2 (JetPack 5.1 ships 8.5.2) applied.
* 8.2     = the 8.4.1.5 wheel's surface with the differences between the sources at tags
          8.4.1 and 8.2.1 (JetPack 4.6 ships 8.2.1) applied.
          The differences live in tests/trt_api/deltas.json, each entry with its source path;
          `--make-deltas` recomputes them from the `python/src/**.cpp` pybind11 code.

The wheels' `tensorrt.so` is never loaded or imported (nor is `tensorrt`): the module-init code
(PyInit_tensorrt / pybind11_exec_tensorrt and the tensorrt::bind* functions it calls) is
disassembled with capstone (pip-installed into the temp dir when not importable) and abstractly
interpreted: string constants are tracked through registers and stack slots into the pybind11
calls that register things (generic_type::initialize -> class, add_class_method -> method,
def_property_static_impl -> property, enum_base::value -> enum member, module_::add_object ->
function, process_attribute<arg/arg_v>::init -> parameter names, initialize_generic -> arity).
Parameters that pybind11 names itself come out as arg0, arg1, ... just as at run time. The
wheel's `__init__.py` is parsed too (module-level functions, `__version__`, `Class.attr = ...`).

Validated against the 10.13 stubs with the same extractor on `tensorrt-cu12-bindings==10.13.0.35`:
`python scripts/trt_api_surface.py --check-extractor` prints the differences.

Output schema (one JSON object per version):
  {"version", "source", "classes": {Name: {"methods": {name: [params without self]},
   "overloads": {name: [[...], ...]} (only when several signatures), "properties": [...],
   "attributes": [...] (class-level constants / nested classes), "bases": [...],
   "enum_members": [...] (enums only; pybind11 enum boilerplate methods are omitted; in value
   order, so a member's index is its value, where every member's value is known),
   "enum_values": {member: value} (only where the values are not exactly 0, 1, 2, ...: gaps,
   flag-like values, aliases)}},
   "functions": {name: [params]}, "module_attributes": [...]}
Nested classes are keyed "Outer.Inner" (e.g. "ILogger.Severity").
Enum values: 10.13 from the stubs' `# value = <Enum.NAME: n>` comments (registration order from
`__members__`); binaries from the value argument of `pybind11::enum_<T>::value(name, value, doc)`
calls (an immediate in edx at the call), or, where that call is inlined, from the 32-bit stack
slot that the value's cast (type_caster_base<T>::cast / object_api::operator()(int&&)) reads; 8.5/8.2 keep the 8.6/8.4 wheel's values for the members
the deltas leave (TensorRT does not renumber enums within a major version).
"""
import argparse
import ast
import ctypes
import ctypes.util
import glob
import json
import os
import re
import struct
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

from trt_stubs import split_params  # scripts/ is on sys.path when run as a script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "trt_api")
DELTAS = os.path.join(OUT_DIR, "deltas.json")

WHEELS = {
    # version label: (requirement, [(python-version, platform), ...] to try)
    "11.4": ("tensorrt-cu13-bindings==11.4.0.106",
             [("3.12", "manylinux_2_28_x86_64"), ("3.11", "manylinux_2_28_x86_64"), ("3.10", "manylinux_2_28_x86_64")]),
    "10.13-wheel": ("tensorrt-cu12-bindings==10.13.0.35",
                    [("3.11", "manylinux_2_28_x86_64"), ("3.11", "manylinux_2_17_x86_64")]),
    "8.6": ("tensorrt_bindings==8.6.1",
            [("3.10", "manylinux_2_17_x86_64"), ("3.8", "manylinux_2_17_x86_64"), ("3.11", "manylinux2014_x86_64")]),
    "8.4": ("nvidia-tensorrt==8.4.1.5",
            [("3.8", "manylinux_2_17_x86_64"), ("3.6", "manylinux_2_17_x86_64"), ("3.9", "manylinux_2_17_x86_64")]),
}
ENTRY_POINTS = {"PyInit_tensorrt", "tensorrt::pybind11_exec_tensorrt(_object*)"}
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# ----------------------------------------------------------------------------------------------
# ELF
class Elf:
    def __init__(self, path):
        self.data = data = open(path, "rb").read()
        assert data[:4] == b"\x7fELF" and data[4] == 2, "not a 64-bit ELF"
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        raw = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        stro = raw[shstrndx][4]
        self.secs = {}
        for r in raw:
            name = data[stro + r[0]:data.index(b"\0", stro + r[0])].decode()
            self.secs[name] = dict(type=r[1], flags=r[2], addr=r[3], off=r[4], size=r[5], link=r[6])
        self.relative = {}
        for name in (".rela.dyn",):
            s = self.secs.get(name)
            if s:
                for i in range(s["size"] // 24):
                    off, info, add = struct.unpack_from("<QQq", data, s["off"] + i * 24)
                    if info & 0xFFFFFFFF == 8:  # R_X86_64_RELATIVE
                        self.relative[off] = add
        self.funcs = {}  # addr -> (mangled, size)
        st, ss = self.secs.get(".symtab"), self.secs.get(".strtab")
        if st is None:
            st, ss = self.secs[".dynsym"], self.secs[".dynstr"]
        for i in range(st["size"] // 24):
            nm, info, other, shndx, val, size = struct.unpack_from("<IBBHQQ", data, st["off"] + i * 24)
            if info & 0xF == 2 and val and size:  # STT_FUNC
                n = data[ss["off"] + nm:data.index(b"\0", ss["off"] + nm)].decode()
                if val not in self.funcs or len(n) < len(self.funcs[val][0]):
                    self.funcs[val] = (n, size)
        self.ro = [(s["addr"], s["off"], s["size"]) for n, s in self.secs.items()
                   if n.startswith(".rodata") and s["type"] == 1]
        self.rw = [(s["addr"], s["off"], s["size"]) for n, s in self.secs.items()
                   if n in (".data.rel.ro", ".data", ".got")]

    def code(self, addr, size):
        for s in self.secs.values():
            if s["flags"] & 4 and s["addr"] <= addr < s["addr"] + s["size"]:
                o = s["off"] + addr - s["addr"]
                return self.data[o:o + size]
        return b""

    def cstring(self, addr):
        for a, o, sz in self.ro:
            if a <= addr < a + sz:
                fo = o + addr - a
                end = self.data.index(b"\0", fo)
                b = self.data[fo:end]
                if b and re.fullmatch(rb"[\x09\x0a\x0d\x20-\x7e]+", b):
                    return b.decode()
                return None
        return None

    def pointer_at(self, addr):
        if addr in self.relative:
            return self.relative[addr]
        for a, o, sz in self.rw:
            if a <= addr < a + sz - 7:
                return struct.unpack_from("<Q", self.data, o + addr - a)[0]
        return None


def demangle_all(names):
    """Demangle C++ names with libstdc++'s __cxa_demangle (ctypes), else c++filt."""
    out = {}
    lib = None
    for cand in ("libstdc++.so.6", ctypes.util.find_library("stdc++")):
        if cand:
            try:
                lib = ctypes.CDLL(cand)
                break
            except OSError:
                pass
    if lib is not None:
        fn = lib.__cxa_demangle
        fn.restype = ctypes.c_void_p
        fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
        free = ctypes.CDLL(None).free
        free.argtypes = [ctypes.c_void_p]
        for n in names:
            base, _, suffix = n.partition(".")  # GCC clone suffixes: .isra.0, .constprop.0, .cold
            st = ctypes.c_int()
            p = fn(base.encode(), None, None, ctypes.byref(st))
            if st.value == 0 and p:
                d = ctypes.string_at(p).decode()
                free(p)
                out[n] = d + ((" [clone ." + suffix + "]") if suffix else "")
            else:
                out[n] = n
        return out
    res = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True, check=True)
    return dict(zip(names, res.stdout.splitlines()))


# ----------------------------------------------------------------------------------------------
# x86-64 abstract interpretation of the module-initialisation code
GPR = {}
for _r in "abcd":
    for _n in ("r%sx", "e%sx", "%sx", "%sl", "%sh"):
        GPR[_n % _r] = "r%sx" % _r
for _r in ("si", "di", "bp", "sp"):
    for _n in ("r%s", "e%s", "%s", "%sl"):
        GPR[_n % _r] = "r" + _r
for _i in range(8, 16):
    for _n in ("r%d", "r%dd", "r%dw", "r%db"):
        GPR[_n % _i] = "r%d" % _i
ARGREGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
CALLER_SAVED = ("rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11")
CALLEE_SAVED = ("rbx", "rbp", "r12", "r13", "r14", "r15", "rsp")

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
# pybind11 templates that build bindings: interpreted recursively (they are often out-of-line
# clones whose arguments, or constant-propagated strings, only make sense inside them)
RECURSE = re.compile(
    r"(pybind11::class_<.*::(def|def_static|def_property|def_property_readonly|def_readwrite|"
    r"def_readonly|def_property_static|def_property_readonly_static|def_readonly_static|class_)<"
    r"|pybind11::class_<[^(]*::(def|def_static|def_property\w*|def_readwrite|def_readonly)\("
    r"|pybind11::enum_<.*::(enum_<|value\()"
    r"|pybind11::module_::def<|pybind11::cpp_function::cpp_function<|pybind11::cpp_function::initialize<"
    r"|pybind11::detail::initimpl::.*::execute<|pybind11::arg::operator=|pybind11::arg_v::arg_v"
    r"|pybind11::detail::process_attributes<|tensorrt::bind\w*\(pybind11::module_&\)"
    r"|pybind11::detail::argument_loader)")
NOT_RECURSE = re.compile(r"\.cold|_FUN\(|\{lambda\(pybind11::detail::function_call&\)|::operator\(\)|"
                         r"::dealloc\(|::init_instance\(|::init_holder\(")


def param_types(demangled):
    """Top-level parameter types of a demangled function name."""
    d = re.sub(r"( \[clone [^\]]*\])+$", "", demangled)
    d = re.sub(r"( const| volatile| &| &&| noexcept)+$", "", d)
    if not d.endswith(")"):
        return None
    depth, i = 0, len(d) - 1
    while i >= 0:
        c = d[i]
        if c in ")>]":
            depth += 1
        elif c in "(<[":
            depth -= 1
            if depth == 0 and c == "(":
                break
        i -= 1
    inner = d[i + 1:-1]
    out, depth, cur = [], 0, ""
    for c in inner:
        if c in "(<[":
            depth += 1
        elif c in ")>]":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        out.append(cur.strip())
    return out


class Func:
    __slots__ = ("addr", "size", "name", "insns")


class Interp:
    def __init__(self, elf, cs):
        self.elf, self.cs = elf, cs
        self.names = demangle_all([n for n, _ in elf.funcs.values()])
        self.cache = {}
        self.events = []

    # -- decoding ---------------------------------------------------------------------------
    def decode(self, addr):
        if addr in self.cache:
            return self.cache[addr]
        mangled, size = self.elf.funcs[addr]
        out = []
        from capstone import x86 as X
        for ins in self.cs.disasm(self.elf.code(addr, size), addr):
            ops = []
            for op in ins.operands:
                if op.type == X.X86_OP_REG:
                    ops.append(("r", ins.reg_name(op.reg), op.size))
                elif op.type == X.X86_OP_IMM:
                    ops.append(("i", op.imm, op.size))
                elif op.type == X.X86_OP_MEM:
                    m = op.mem
                    base = ins.reg_name(m.base) if m.base else None
                    index = ins.reg_name(m.index) if m.index else None
                    disp = m.disp + (ins.address + ins.size if base == "rip" else 0)
                    ops.append(("m", base, index, disp, op.size))
            out.append((ins.address, ins.mnemonic, ops))
        self.cache[addr] = out
        return out

    # -- values -----------------------------------------------------------------------------
    # ('S', d): stack address; ('A', a): static address; ('I', n): integer;
    # ('L', key): unknown contents of memory at key; ('P', name): opaque incoming pointer
    @staticmethod
    def key(v, off=0):
        if v is None:
            return None
        if v[0] in ("S", "A"):
            return (v[0], v[1] + off)
        if v[0] in ("P", "L"):
            return ("K", v, off)
        if v[0] == "K":
            return ("K", v[1], v[2] + off)
        return None

    def load(self, st, key):
        if key is None:
            return None
        if key in st["mem"]:
            return st["mem"][key]
        if key[0] == "A":
            p = self.elf.pointer_at(key[1])
            return ("A", p) if p else None
        return ("L", key)

    def string(self, v):
        if v and v[0] == "A":
            return self.elf.cstring(v[1])
        return None

    def deref_string(self, st, v):
        """The string a pointer argument means: a char* itself, or a char* stored where it points."""
        s = self.string(v)
        if s is not None:
            return s
        return self.string(self.load(st, self.key(v)))

    def addr_of(self, st, op):
        _, base, index, disp, _ = op
        if index is not None:
            return None
        if base == "rip":
            return ("A", disp)
        if base is None:
            return ("A", disp)
        b = st["regs"].get(GPR.get(base, base))
        if b is None:
            return None
        if b[0] in ("S", "A"):
            return (b[0], b[1] + disp)
        if b[0] in ("P", "L"):
            return ("K", b, disp) if disp else b  # only used as keys
        return None

    def read(self, st, op):
        if op[0] == "r":
            r = op[1]
            if r.startswith("xmm"):
                return st["xmm"].get(r, [None, None])[0]
            g = GPR.get(r)
            return st["regs"].get(g) if g and op[2] == 8 else None
        if op[0] == "i":
            return ("I", op[1])
        if op[4] != 8:
            return None
        a = self.addr_of(st, op)
        if a is None:
            return None
        return self.load(st, a if a[0] in ("S", "A", "K") else ("K", a, 0))

    def memkey(self, st, op):
        a = self.addr_of(st, op)
        if a is None:
            return None
        return a if a[0] in ("S", "A", "K") else ("K", a, 0)

    def write(self, st, op, v, size=8):
        if op[0] == "r":
            r = op[1]
            if r.startswith("xmm"):
                st["xmm"][r] = [v, None]
                return
            g = GPR.get(r)
            if g:
                st["regs"][g] = v if size == 8 else None
            return
        if op[0] == "m":
            k = self.memkey(st, op)
            if k is None:
                return
            self.forget32(st, k, size)
            if size >= 8:
                st["mem"][k] = v
            else:
                st["mem"].pop(k, None)

    def read32(self, st, op):
        """A 32-bit integer operand as ('I', n), where known (immediates, registers, stack slots)."""
        if op[0] == "i":
            return ("I", op[1] & 0xFFFFFFFF)
        if op[0] == "r":
            v = st["regs"].get(GPR.get(op[1]))
            return ("I", v[1] & 0xFFFFFFFF) if v and v[0] == "I" else None
        if op[0] == "m":
            k = self.memkey(st, op)
            return st.get("mem32", {}).get(k) if k is not None else None
        return None

    def forget32(self, st, k, size):
        m32 = st.get("mem32")
        if m32 and k is not None:
            for off in range(-3, max(size, 1)):
                m32.pop(self.shift(k, off), None)

    # -- execution --------------------------------------------------------------------------
    def run(self, addr, st, depth, ctx):
        rets = []
        fend = addr + self.elf.funcs[addr][1]
        unwind = None  # registers as they were before the current run of stack-unwinding instructions
        for (ia, mn, ops) in self.decode(addr):
            is_unwind = (mn in ("pop", "leave") or (mn in ("add", "lea") and ops and ops[0][0] == "r" and ops[0][1] == "rsp"))
            if is_unwind:
                if unwind is None:
                    unwind = dict(st["regs"])
            elif mn in ("call", "push") or (mn == "sub" and ops and ops[0][0] == "r" and ops[0][1] == "rsp"):
                unwind = None
            if mn.startswith("v") and mn[1:] in ("movq", "movdqa", "movdqu", "movaps", "movups", "movhps", "movlps", "punpcklqdq"):
                mn = mn[1:]
                if len(ops) == 3:
                    ops = [ops[0], ops[2]] if mn == "punpcklqdq" else ops[:2]
            regs = st["regs"]
            try:
                if mn in ("mov", "movabs") and len(ops) == 2:
                    d, s = ops
                    if s[0] == "r" and s[1].startswith("xmm"):
                        self.write(st, d, st["xmm"].get(s[1], [None, None])[0], d[2] if d[0] != "m" else d[4])
                    else:
                        size = d[2] if d[0] == "r" else d[4]
                        if size == 4:  # 32-bit integers are tracked for enum values
                            v32 = self.read32(st, s)
                            if d[0] == "r":
                                self.write(st, d, v32)  # zero-extending
                            else:
                                self.write(st, d, None, size)
                                k = self.memkey(st, d)
                                if k is not None and v32 is not None:
                                    st.setdefault("mem32", {})[k] = v32
                        else:
                            self.write(st, d, self.read(st, s) if size == 8 else None, size)
                elif mn == "movq" and len(ops) == 2:
                    d, s = ops
                    if d[0] == "r" and d[1].startswith("xmm"):
                        st["xmm"][d[1]] = [self.read(st, s) if s[0] != "r" or not s[1].startswith("xmm")
                                           else st["xmm"].get(s[1], [None, None])[0], None]
                    elif s[0] == "r" and s[1].startswith("xmm"):
                        self.write(st, d, st["xmm"].get(s[1], [None, None])[0])
                    else:
                        self.write(st, d, self.read(st, s))
                elif mn in ("movdqa", "movdqu", "movaps", "movups", "movapd", "movupd", "lddqu"):
                    d, s = ops
                    if s[0] == "m":
                        k = self.memkey(st, s)
                        val = [self.load(st, k), self.load(st, self.shift(k, 8))] if k else [None, None]
                    else:
                        val = list(st["xmm"].get(s[1], [None, None]))
                    if d[0] == "m":
                        k = self.memkey(st, d)
                        self.forget32(st, k, 16)
                        if k:
                            st["mem"][k] = val[0]
                            k2 = self.shift(k, 8)
                            if k2:
                                st["mem"][k2] = val[1]
                    else:
                        st["xmm"][d[1]] = val
                elif mn in ("movhps", "movhpd"):
                    d, s = ops
                    if d[0] == "r":
                        x = st["xmm"].setdefault(d[1], [None, None])
                        x[1] = self.read(st, s[:4] + (8,)) if s[0] == "m" else None
                    else:
                        self.write(st, d, st["xmm"].get(s[1], [None, None])[1])
                elif mn in ("movlps", "movlpd"):
                    d, s = ops
                    if d[0] == "r":
                        x = st["xmm"].setdefault(d[1], [None, None])
                        x[0] = self.read(st, s[:4] + (8,)) if s[0] == "m" else None
                    else:
                        self.write(st, d, st["xmm"].get(s[1], [None, None])[0])
                elif mn in ("punpcklqdq", "movlhps"):
                    d, s = ops
                    lo = st["xmm"].get(d[1], [None, None])[0]
                    hi = st["xmm"].get(s[1], [None, None])[0] if s[0] == "r" else self.read(st, s[:4] + (8,))
                    st["xmm"][d[1]] = [lo, hi]
                elif mn in ("pxor", "xorps") and ops[0] == ops[1]:
                    st["xmm"][ops[0][1]] = [("I", 0), ("I", 0)]
                elif mn == "lea":
                    d, s = ops
                    self.write(st, d, self.addr_of(st, s) if d[2] == 8 else None, d[2])
                elif mn == "push":
                    v = self.read(st, ops[0])
                    sp = regs.get("rsp")
                    if sp and sp[0] == "S":
                        sp = ("S", sp[1] - 8)
                        regs["rsp"] = sp
                        st["mem"][sp] = v
                elif mn == "pop":
                    sp = regs.get("rsp")
                    if sp and sp[0] == "S":
                        self.write(st, ops[0], st["mem"].get(sp))
                        regs["rsp"] = ("S", sp[1] + 8)
                    else:
                        self.write(st, ops[0], None)
                elif mn in ("add", "sub") and ops[0][0] == "r":
                    d, s = ops
                    g = GPR.get(d[1])
                    v = regs.get(g)
                    if s[0] == "i" and v and v[0] in ("S", "A") and d[2] == 8:
                        regs[g] = (v[0], v[1] + (s[1] if mn == "add" else -s[1]))
                    elif g == "rsp":
                        pass  # keep the stack pointer when its adjustment is not constant
                    else:
                        regs[g] = None
                elif mn == "xor" and ops[0][0] == "r" and ops[0] == ops[1]:
                    self.write(st, ops[0], ("I", 0))
                elif mn == "call" or (mn == "jmp" and ops and ops[0][0] == "i" and ops[0][1] in self.elf.funcs
                                      and ops[0][1] != addr):
                    self.call(st, ops, depth, ctx, ia)
                    if mn == "jmp":
                        rets.append(regs.get("rax"))
                        if unwind is not None:
                            st["regs"] = unwind
                            unwind = None
                elif mn == "ret" or (mn == "jmp" and ops and (ops[0][0] != "i" or not (addr <= ops[0][1] < fend))):
                    rets.append(regs.get("rax"))
                    if unwind is not None:
                        st["regs"] = unwind
                        unwind = None
                elif mn in ("cmp", "test", "jmp", "nop", "endbr64", "ud2", "leave", "hlt", "int3") \
                        or mn.startswith("j") or mn.startswith("set") and False:
                    if mn == "leave":
                        bp = regs.get("rbp")
                        if bp and bp[0] == "S":
                            regs["rbp"] = st["mem"].get(bp)
                            regs["rsp"] = ("S", bp[1] + 8)
                else:
                    if ops and ops[0][0] == "r":
                        r = ops[0][1]
                        if r.startswith("xmm"):
                            st["xmm"][r] = [None, None]
                        elif GPR.get(r) and GPR[r] != "rsp":
                            regs[GPR[r]] = None
                    elif ops and ops[0][0] == "m" and mn not in ("cmp", "test", "prefetcht0"):
                        k = self.memkey(st, ops[0])
                        self.forget32(st, k, ops[0][4])
                        if k is not None and ops[0][4] >= 8:
                            st["mem"].pop(k, None)
            except (KeyError, IndexError, TypeError):
                pass
        return rets

    @staticmethod
    def shift(k, off):
        if k is None:
            return None
        if k[0] in ("S", "A"):
            return (k[0], k[1] + off)
        if k[0] == "K":
            return ("K", k[1], k[2] + off)
        return None

    def call(self, st, ops, depth, ctx, ia):
        regs = st["regs"]
        target = ops[0][1] if ops and ops[0][0] == "i" else None
        info = self.elf.funcs.get(target) if target is not None else None
        name = self.names.get(info[0], info[0]) if info else ""
        args = [regs.get(r) for r in ARGREGS]
        ptr = None  # where an inlined enum_<T>::value keeps the value it converts to a Python object
        if re.match(r"pybind11::detail::type_caster_base<[^>]*>::cast\([^,]* const\*, ", name) \
                or name.startswith("pybind11::detail::type_caster_generic::src_and_type(void const*"):
            ptr = args[0]
        elif re.match(r"pybind11::object pybind11::detail::object_api<pybind11::handle>::operator\(\)"
                      r"<\(pybind11::return_value_policy\)\d, int>\(int&&\)", name):
            ptr = args[2]  # (result, this, &value)
        if ptr is not None:
            k = self.key(ptr)
            st["enum_int"] = st.get("mem32", {}).get(k) if k is not None else None
        kind = None
        for pat, k in SINKS.items():
            if pat in name:
                kind = k
                break
        if kind:
            self.sink(st, kind, args, ctx, name)

        elif info and depth < 6 and RECURSE.search(name) and not NOT_RECURSE.search(name) and (info[1] < 40000 or name.startswith("tensorrt::bind")):
            saved = dict(regs)
            sp = regs.get("rsp")
            if sp and sp[0] == "S":
                regs["rsp"] = ("S", sp[1] - 8)
            m = re.match(r"pybind11::(?:class_|enum_)<(.*?)(?:, |>)", name)
            sub = dict(ctx)
            if m and "cls_cpp" not in ctx:
                sub["cls_cpp"] = m.group(1)
                sub["cls_tmpl"] = name
                sub["self"] = args[0]
                sub["defname"] = self.string(args[1])
            if "isra" not in name and "constprop" not in name and re.search(r"::def(_static)?<", name):
                types = param_types(name) or []
                pos = [i + 1 for i, t in enumerate(types) if t in ("pybind11::arg const&", "pybind11::arg_v const&")]
                vals = []
                for p in pos:
                    if p < 6:
                        v = args[p]
                    else:
                        sp0 = regs.get("rsp")
                        v = self.load(st, ("S", sp0[1] + 8 * (p - 6))) if sp0 and sp0[0] == "S" else None
                    vals.append(self.deref_string(st, v))
                sub["sigargs"] = vals
            if "cls_cpp" in sub and "ptrargs" not in ctx and any(
                    t in ("pybind11::arg const&", "pybind11::arg_v const&") for t in (param_types(name) or [])):
                # what the extras of a def() call point at (arg objects start with their name)
                sp0 = regs.get("rsp")
                cands = list(args[1:])
                if sp0 and sp0[0] == "S":
                    cands += [self.load(st, ("S", sp0[1] + 8 * k)) for k in range(4)]
                ptr = []
                for v in cands:
                    if v and v[0] == "S":
                        s = self.string(self.load(st, v))
                        if s and IDENT.match(s):
                            ptr.append(s)
                sub["ptrargs"] = ptr
            if re.match(r"pybind11::enum_<.*>::value\(char const\*, [^,]+, char const\*\)( \[clone \.constprop\.\d+\])?$",
                        name):
                v = args[2]  # (this, name, value, doc): the value is passed in edx
                sub["enum_value"] = v[1] if v and v[0] == "I" else None
            rets = self.run(target, st, depth + 1, sub)
            regs = st["regs"] = saved
            for r in CALLER_SAVED:
                regs[r] = None
            if re.match(r"pybind11::(class_|enum_)<", name) and ">& pybind11::" in name:
                rv = args[0]  # these return *this
            else:
                rv = next((r for r in reversed(rets) if r is not None), None)
            regs["rax"] = rv
            return
        for r in CALLER_SAVED:
            regs[r] = None
        for x in list(st["xmm"]):
            st["xmm"][x] = [None, None]

    def sink(self, st, kind, a, ctx, name):
        ev = dict(kind=kind, ctx=ctx.get("cls_cpp"), tmpl=ctx.get("cls_tmpl"), self=ctx.get("self"))
        if kind == "class":
            rec = a[1]
            ev["name"] = self.string(self.load(st, self.key(rec, 8)))
            ev["obj"] = a[0]
            ev["scope"] = self.load(st, self.key(rec, 0))
            k = self.key(a[0])
            if k is not None:  # the new type object: a token that nested scopes will refer to
                st["mem"][k] = ("T", len(self.events))
        elif kind == "arg":
            ev["name"] = self.deref_string(st, a[0])
        elif kind in ("method", "property", "enum_value", "function"):
            if kind == "enum_value":
                v = st.pop("enum_int", None)
                v = ctx.get("enum_value") if ctx.get("enum_value") is not None else (v and v[1])
                ev["value"] = v - (1 << 32) if v is not None and 1 << 31 <= v < 1 << 32 else v
            ev["obj"] = a[0]
            ev["name"] = self.string(a[1])
            if ev["name"] is None:  # an .isra clone may pass its arguments elsewhere
                ev["name"] = next((s for s in (self.string(x) for x in a) if s and IDENT.match(s)), None)
        elif kind == "function_record":
            ev["sigargs"] = ctx.get("sigargs")
            ev["ptrargs"] = ctx.get("ptrargs")
            ev["defname"] = ctx.get("defname")
            ev["sig"] = self.string(a[2])
            ev["nargs"] = a[4][1] if a[4] and a[4][0] == "I" else None
        elif kind == "getattr":
            ev["obj"] = a[0]
            ev["name"] = next((s for s in (self.string(x) for x in a[1:]) if s and IDENT.match(s)), None)
        self.events.append(ev)

    def analyse(self, entry_names):
        for addr, (mangled, size) in sorted(self.elf.funcs.items()):
            if self.names.get(mangled) in entry_names:
                st = {"regs": {"rsp": ("S", 0), "rdi": ("P", "module")}, "xmm": {}, "mem": {}}
                self.events.append(dict(kind="entry", name=self.names[mangled]))
                self.run(addr, st, 0, {})
        return self.events


# ----------------------------------------------------------------------------------------------
# events -> surface
def sig_arity(sig):
    if not sig or not sig.startswith("("):
        return None
    head = sig[1:sig.rfind(") -> ")] if ") -> " in sig else sig[1:]
    depth = n = 0
    for ch in head:
        if ch == "{":
            if depth == 0:
                n += 1
            depth += 1
        elif ch == "}":
            depth -= 1
    return n


def template_args(demangled, prefix="pybind11::class_<"):
    i = demangled.find(prefix)
    if i < 0:
        return []
    i += len(prefix)
    depth, cur, out = 1, "", []
    while i < len(demangled) and depth:
        c = demangled[i]
        if c in "<(":
            depth += 1
        elif c in ">)":
            depth -= 1
            if depth == 0:
                break
        if c == "," and depth == 1:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        out.append(cur.strip())
    return out


def new_class():
    return {"methods": {}, "overloads": {}, "properties": set(), "attributes": set(), "enum_members": [],
            "enum_values": {}, "bases": []}


def build_surface(events):
    classes, functions = {}, {}
    slot, tokens, cpp_of, tmpl_of = {}, {}, {}, {}
    current = None
    pending, last, lastptr = [], None, None
    getattr_pending = None

    def entry(name):
        return classes.setdefault(name, new_class())

    def cls_of(ev):
        if ev.get("self") is not None:
            return slot.get(ev["self"], current)
        return slot.get(ev.get("obj"), current)

    def add_method(c, name, params):
        e = entry(c)
        if name in e["methods"]:
            ov = e["overloads"].setdefault(name, [e["methods"][name]])
            if params not in ov:
                ov.append(params)
        else:
            e["methods"][name] = params

    def params_of(rec, is_method):
        args, arity, ptr = rec if rec else ([], None, None)
        params = list(args)
        skip = 1 if is_method else 0
        if arity is not None and (len(params) < arity - skip or "?" in params) and ptr and len(ptr) == arity - skip:
            params = list(ptr)
        if arity is not None and not params and arity - skip > 0:
            params = ["arg%d" % i for i in range(arity - skip)]
        return params

    def flush_getattr():
        nonlocal getattr_pending
        g = getattr_pending
        getattr_pending = None
        if g and g.get("rec") is not None and g.get("cls"):
            add_method(g["cls"], g["name"], params_of(g["rec"], False))  # def_static

    for idx, ev in enumerate(events):
        k = ev["kind"]
        if k == "entry":
            flush_getattr()
            current, pending = None, []
            continue
        if k == "class":
            flush_getattr()
            name = ev.get("name")
            if not name:
                continue
            sc = ev.get("scope")
            parent = tokens.get(sc[1]) if sc and sc[0] == "T" else None
            full = parent + "." + name if parent else name
            slot[ev["obj"]] = full
            tokens[idx] = full
            current = full
            entry(full)
            pending = []
            if parent:
                entry(parent)["attributes"].add(name)
            continue
        if k == "arg":
            pending.append(ev.get("name") or "?")
            continue
        if k == "function_record":
            sa = ev.get("sigargs")
            if sa and all(x and IDENT.match(x) for x in sa) and len(sa) >= len(pending):
                pending = list(sa)
            last = (pending, ev.get("nargs") or sig_arity(ev.get("sig")), ev.get("ptrargs"))
            pending = []
            if getattr_pending is not None and getattr_pending.get("rec") is None:
                getattr_pending["rec"] = last
            if "::def_static<" in (ev.get("tmpl") or "") and ev.get("defname") and IDENT.match(ev["defname"]):
                c = cls_of(ev)
                if c:  # def_static sets the attribute itself, there is no add_class_method
                    add_method(c, ev["defname"], params_of(last, False))
                last = None
            continue
        if k == "getattr":
            flush_getattr()
            if ev.get("name") and "::def_static<" in (ev.get("tmpl") or ""):
                getattr_pending = {"name": ev["name"], "cls": cls_of(ev)}
            continue
        name = ev.get("name")
        if not name:
            continue
        if getattr_pending is not None and getattr_pending["name"] == name:
            getattr_pending = None
        if k == "enum_value":
            if current and name not in entry(current)["enum_members"]:
                entry(current)["enum_members"].append(name)
                if ev.get("value") is not None:
                    entry(current)["enum_values"][name] = ev["value"]
            continue
        c = cls_of(ev) if k != "function" else None
        if c and ev.get("ctx") and ev.get("self") is not None:
            cpp_of.setdefault(c, ev["ctx"])
            tmpl_of.setdefault(c, ev.get("tmpl") or "")
        if k == "property":
            if c:
                entry(c)["properties"].add(name)
            last = None
            continue
        if name == "_pybind11_conduit_v1_":  # pybind11 3 internal, on every class
            last = None
            continue
        if k in ("method", "function"):
            params = params_of(last, k == "method")
            last = None
            if k == "function":
                functions.setdefault(name, params)
            elif c:
                add_method(c, name, params)
    flush_getattr()
    py_of = {}
    for c, cpp in cpp_of.items():
        py_of.setdefault(cpp, c)
    for c, tmpl in tmpl_of.items():
        targs = template_args(tmpl)
        entry(c)["bases"] = [py_of[t] for t in targs[1:] if t in py_of and py_of[t] != c]
    return classes, functions


# ----------------------------------------------------------------------------------------------
# stubs (.pyi) and __init__.py
def fix_stub_text(text):
    """Make pybind11-stubgen output parseable: `in` as a parameter, defaults out of order."""
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith("def "):
            line = re.sub(r"([(,]\s*)in(\s*[:,)])", r"\1in_\2", line)
            m = re.match(r"^(\s*def \w+\()(.*)(\)\s*(->.*)?:\s*)$", line)
            if m:
                names = [re.split(r"[:=]", p.strip(), 1)[0].strip()
                         for p in split_params(m.group(2))]
                line = m.group(1) + ", ".join(names) + "):"
        out.append(line)
    return "\n".join(out)


def func_params(fn, drop_first):
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args]
    if drop_first and names:
        names = names[1:]
    if a.vararg:
        names.append("*" + a.vararg.arg)
    names += [x.arg for x in a.kwonlyargs]
    if a.kwarg:
        names.append("**" + a.kwarg.arg)
    return ["in" if n == "in_" else n for n in names]


STUB_VALUE = re.compile(r"#\s*value\s*=\s*<[\w.]+:\s*(-?\d+)>\s*$")
STUB_MEMBERS = re.compile(r"#\s*value\s*=\s*(\{.*\})\s*$")


def parse_stub_class(node, prefix, classes, lines=()):
    """lines: the stub's source lines, for the `# value = ...` comments of enum members."""
    full = prefix + node.name
    e = classes.setdefault(full, new_class())
    e["bases"] = [ast.unparse(b) for b in node.bases]
    registered = None  # member names in registration order, from `__members__`'s value comment
    for s in node.body:
        if isinstance(s, ast.ClassDef):
            parse_stub_class(s, full + ".", classes, lines)
            e["attributes"].add(s.name)
        elif isinstance(s, ast.FunctionDef):
            decos = [ast.unparse(d) for d in s.decorator_list]
            if "property" in decos:
                e["properties"].add(s.name)
                continue
            if any(d.endswith(".setter") or d.endswith(".deleter") for d in decos):
                continue
            params = func_params(s, "staticmethod" not in decos or s.name in ("__enter__", "__exit__"))
            if s.name in e["methods"]:
                ov = e["overloads"].setdefault(s.name, [e["methods"][s.name]])
                if params not in ov:
                    ov.append(params)
            else:
                e["methods"][s.name] = params
        elif isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name):
            ann, n = ast.unparse(s.annotation), s.target.id
            comment = lines[s.lineno - 1] if 0 < s.lineno <= len(lines) else ""
            if n == "__members__":
                m = STUB_MEMBERS.search(comment)
                if m:
                    registered = re.findall(r"'(\w+)':", m.group(1))
                continue
            m = re.match(r"^(typing\.)?ClassVar\[(.*)\]$", ann)
            if m:
                if m.group(2).split(".")[-1] == node.name:
                    e["enum_members"].append(n)
                    v = STUB_VALUE.search(comment)
                    if v:  # `# value = <BuilderFlag.WEIGHTLESS: 19>` (an alias shows its canonical name)
                        e["enum_values"][n] = int(v.group(1))
                else:
                    e["attributes"].add(n)
            else:
                e["properties"].add(n)
        elif isinstance(s, ast.Assign):
            for t in s.targets:
                if isinstance(t, ast.Name):
                    e["attributes"].add(t.id)
    if registered and set(registered) == set(e["enum_members"]):
        e["enum_members"] = registered  # stubgen sorts members by name; pybind11 keeps this order


def parse_stub(text):
    text = fix_stub_text(text)  # keeps the lines where they are
    tree = ast.parse(text)
    lines = text.splitlines()
    classes, functions, attrs = {}, {}, set()
    for s in tree.body:
        if isinstance(s, ast.ClassDef):
            parse_stub_class(s, "", classes, lines)
        elif isinstance(s, ast.FunctionDef):
            functions[s.name] = func_params(s, False)
        elif isinstance(s, (ast.Assign, ast.AnnAssign)):
            for t in (s.targets if isinstance(s, ast.Assign) else [s.target]):
                if isinstance(t, ast.Name) and t.id != "__all__":
                    attrs.add(t.id)
    return classes, functions, attrs


def apply_init_py(text, classes, functions, attrs):
    """What the package's __init__.py adds on top of the extension module."""
    tree = ast.parse(text)
    defs = {}

    def walk(body):
        for s in body:
            if isinstance(s, ast.If):
                walk(s.body)
            elif isinstance(s, ast.FunctionDef):
                defs[s.name] = s
                if not s.name.startswith("_"):
                    functions[s.name] = func_params(s, False)
            elif isinstance(s, ast.Assign):
                for t in s.targets:
                    if isinstance(t, ast.Name):
                        if t.id == "__version__" or not (t.id.startswith("_") or t.id.isupper()):
                            attrs.add(t.id)
                    elif isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id in classes:
                        e = classes[t.value.id]
                        v = s.value
                        if isinstance(v, ast.Name) and v.id in defs:
                            e["methods"][t.attr] = func_params(defs[v.id], True)
                        elif isinstance(v, ast.Lambda):
                            e["methods"][t.attr] = func_params(v, True)
                        else:
                            e["attributes"].add(t.attr)
                            src = ast.unparse(v)
                            if src in classes:  # e.g. Logger.Severity = ILogger.Severity
                                classes.setdefault(t.value.id + "." + t.attr, json.loads(json.dumps(
                                    classes[src], default=sorted)))
            elif isinstance(s, ast.For):
                it = ast.unparse(s.iter)
                m = re.match(r"^([\w.]+)\.__members__\.items\(\)$", it)
                call = s.body[0] if s.body else None
                if m and m.group(1) in classes and isinstance(call, ast.Expr) and isinstance(call.value, ast.Call) \
                        and ast.unparse(call.value.func) == "setattr" and call.value.args:
                    target = ast.unparse(call.value.args[0])
                    if target in classes:
                        classes[target]["attributes"].update(classes[m.group(1)]["enum_members"])
    walk(tree.body)
    for name, e in list(classes.items()):  # fix copies made through JSON
        e["properties"] = set(e["properties"])
        e["attributes"] = set(e["attributes"])


# ----------------------------------------------------------------------------------------------
# pybind11 binding sources (for deltas between versions that have no readable wheel)
DEF_RE = re.compile(r"\.\s*(def|def_static|def_property|def_property_readonly|def_readwrite|def_readonly|"
                    r"def_property_static|def_property_readonly_static|def_readonly_static|value)\s*\(")
CLASS_RE = re.compile(r"py::(class_|enum_)\s*<")


def _balanced(text, i, open_ch, close_ch):
    """Index just past the bracket that closes the one at text[i]."""
    depth = 0
    j = i
    while j < len(text):
        c = text[j]
        if c == '"':
            j = _skip_string(text, j)
            continue
        if c == open_ch:
            depth += 1
        elif c == close_ch:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(text)


def _skip_string(text, j):
    k = j + 1
    while k < len(text) and text[k] != '"':
        k += 2 if text[k] == "\\" else 1
    return k + 1


def _clean_cpp(text):
    text = re.sub(r'R"(\w*)\((.*?)\)\1"', '""', text, flags=re.S)
    out, i = [], 0
    while i < len(text):
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
        elif text.startswith("/*", i):
            i = text.find("*/", i) + 2
        elif text[i] == '"':
            j = _skip_string(text, i)
            out.append(text[i:j])
            i = j
        elif text[i] == "'":
            j = text.find("'", i + 1 + (text[i + 1] == "\\"))
            out.append("' '")
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _split_top(text, sep=","):
    out, depth, cur, i = [], 0, "", 0
    while i < len(text):
        c = text[i]
        if c == '"':
            j = _skip_string(text, i)
            cur += text[i:j]
            i = j
            continue
        if c in "([{<":
            depth += 1 if c != "<" or re.match(r"[\w:]", text[i - 1:i] or " ") else 0
        elif c in ")]}>":
            depth -= 1 if c != ">" or depth > 0 else 0
        if c == sep and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_binding_sources(files):
    """{class: {methods: {name: [params]}, properties: [...], enum_members: [...]}}, functions."""
    classes, functions = {}, {}
    for path, text in files:
        text = _clean_cpp(text)
        var_class = {}
        # class definitions
        for m in CLASS_RE.finditer(text):
            t_end = _balanced(text, m.end() - 1, "<", ">")
            rest = text[t_end:]
            mm = re.match(r"\s*(\w+)?\s*([({])", rest)
            if not mm:
                continue
            var = mm.group(1)
            open_at = t_end + mm.start(2)
            close_at = _balanced(text, open_at, mm.group(2), ")" if mm.group(2) == "(" else "}")
            args = _split_top(text[open_at + 1:close_at - 1])
            if len(args) < 2 or not re.match(r'^"\w+"$', args[1]):
                continue
            name = args[1].strip('"')
            scope = args[0]
            if scope in var_class:
                name = var_class[scope] + "." + name
            classes.setdefault(name, {"methods": {}, "properties": [], "enum_members": [], "where": path})
            before = text[max(0, m.start() - 40):m.start()]
            av = re.search(r"(?:auto|py::\w+<[^;]*>)?\s*(\w+)\s*=\s*$", before)
            if var:
                var_class[var] = name
            elif av:
                var_class[av.group(1)] = name
            _parse_chain(text, close_at, name, classes)
        # statements on a class variable: `x.def(...)...;` and module functions `m.def(...)`
        for v, cname in list(var_class.items()):
            for m in re.finditer(r"(?<![\w.])" + re.escape(v) + r"\s*(?=\.\s*(def|value))", text):
                _parse_chain(text, m.end(), cname, classes)
        for m in re.finditer(r"(?<![\w.])m\s*\.\s*def\s*\(", text):
            close = _balanced(text, m.end() - 1, "(", ")")
            args = _split_top(text[m.end():close - 1])
            if args and re.match(r'^"\w+"$', args[0]):
                functions[args[0].strip('"')] = _arg_names(args[1:])
    return classes, functions


def _arg_names(args):
    names = []
    for a in args:
        m = re.match(r'^"(\w+)"_a\b', a) or re.match(r'^py::arg\("(\w+)"\)', a)
        if m:
            names.append(m.group(1))
    return names


def _parse_chain(text, i, cname, classes):
    """Parse `.def(...)...` calls that follow position i, up to the end of the statement."""
    e = classes[cname]
    while True:
        m = re.compile(r"\s*").match(text, i)
        i = m.end()
        m = DEF_RE.match(text, i)
        if not m:
            return
        close = _balanced(text, m.end() - 1, "(", ")")
        args = _split_top(text[m.end():close - 1])
        kind = m.group(1)
        i = close
        if not args:
            continue
        first = args[0]
        if kind == "value":
            if re.match(r'^"\w+"$', first):
                e["enum_members"].append(first.strip('"'))
            continue
        if kind.startswith("def_prop") or kind.startswith("def_read"):
            if re.match(r'^"\w+"$', first):
                e["properties"].append(first.strip('"'))
            continue
        if first.startswith("py::init"):
            name = "__init__"
            params = _arg_names(args[1:])
        elif re.match(r'^"\w+"$', first):
            name = first.strip('"')
            params = _arg_names(args[1:])
        else:
            continue
        e.setdefault("overloads", {})
        if name in e["methods"]:
            ov = e["overloads"].setdefault(name, [e["methods"][name]])
            if params not in ov:
                ov.append(params)
        else:
            e["methods"][name] = params


def source_files(repo, ref):
    names = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "--name-only", ref, "--", "python/src"],
                           capture_output=True, text=True, check=True).stdout.split()
    out = []
    for n in sorted(names):
        if n.endswith(".cpp"):
            out.append((n, subprocess.run(["git", "-C", repo, "show", ref + ":" + n], capture_output=True,
                                          text=True, check=True).stdout))
    return out


def diff_sources(repo, new_ref, old_ref, skip_classes=()):
    """What changes from new_ref's bindings to old_ref's: removals and additions, with sources."""
    new_c, new_f = parse_binding_sources(source_files(repo, new_ref))
    old_c, old_f = parse_binding_sources(source_files(repo, old_ref))
    url = "https://github.com/NVIDIA/TensorRT/blob/%s/%s"
    remove, add = [], []
    for c in sorted(set(new_c) | set(old_c)):
        if c in skip_classes:
            continue
        n, o = new_c.get(c), old_c.get(c)
        if n and not o:
            remove.append({"class": c, "source": url % (new_ref, n["where"]) + " (absent at " + old_ref + ")"})
            continue
        if o and not n:
            add.append({"class": c, "enum_members": o["enum_members"], "properties": sorted(set(o["properties"])),
                        "methods": o["methods"], "source": url % (old_ref, o["where"])})
            continue
        src_o = url % (old_ref, o["where"])
        for kind in ("methods", "properties", "enum_members"):
            nn, oo = n[kind], o[kind]
            for x in (nn if isinstance(nn, dict) else dict.fromkeys(nn)):
                if x not in oo:
                    remove.append({"class": c, kind[:-1] if kind != "properties" else "property": x,
                                   "source": src_o + " (no " + x + ")"})
            for x in (oo if isinstance(oo, dict) else dict.fromkeys(oo)):
                if x not in nn:
                    entry = {"class": c, kind[:-1] if kind != "properties" else "property": x, "source": src_o}
                    if kind == "methods":
                        entry["params"] = oo[x]
                    add.append(entry)
            if kind == "methods":
                for x in set(nn) & set(oo):
                    if nn[x] != oo[x] and oo[x] and nn[x]:
                        add.append({"class": c, "method": x, "params": oo[x], "source": src_o,
                                    "note": "parameters differ from " + new_ref})
    for f in sorted(set(new_f) - set(old_f)):
        remove.append({"function": f, "source": "NVIDIA/TensorRT@%s python/src (absent)" % old_ref})
    for f in sorted(set(old_f) - set(new_f)):
        add.append({"function": f, "params": old_f[f], "source": "NVIDIA/TensorRT@%s python/src" % old_ref})
    return {"from": new_ref, "to": old_ref, "remove": remove, "add": add}


def apply_delta(classes, functions, delta):
    for r in delta["remove"]:
        if "function" in r:
            functions.pop(r["function"], None)
            continue
        c = r["class"]
        if c not in classes:
            continue
        if set(r) <= {"class", "source", "note"}:
            del classes[c]
            parent = c.rpartition(".")[0]
            if parent in classes:
                classes[parent]["attributes"].discard(c.rpartition(".")[2])
            continue
        e = classes[c]
        if "method" in r:
            e["methods"].pop(r["method"], None)
            e["overloads"].pop(r["method"], None)
        if "property" in r:
            e["properties"].discard(r["property"])
        if "enum_member" in r and r["enum_member"] in e["enum_members"]:
            e["enum_members"].remove(r["enum_member"])
            e.get("enum_values", {}).pop(r["enum_member"], None)
    for a in delta["add"]:
        if "function" in a:
            functions[a["function"]] = a.get("params", [])
            continue
        e = classes.setdefault(a["class"], new_class())
        if "methods" in a:  # a whole class
            e["methods"].update(a["methods"])
            e["properties"].update(a.get("properties", []))
            e["enum_members"] += [x for x in a.get("enum_members", []) if x not in e["enum_members"]]
        if "method" in a:
            e["methods"][a["method"]] = a.get("params", [])
            e["overloads"].pop(a["method"], None)
        if "property" in a:
            e["properties"].add(a["property"])
        if "enum_member" in a and a["enum_member"] not in e["enum_members"]:
            e["enum_members"].append(a["enum_member"])


# ----------------------------------------------------------------------------------------------
# plumbing
def capstone_module(tmp):
    try:
        import capstone  # noqa: F401
    except ImportError:
        target = os.path.join(tmp, "pylib")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", target, "capstone"],
                       check=True)
        sys.path.insert(0, target)
    import capstone
    return capstone


def download(req, tries, dest):
    for pyver, plat in tries:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                            "--python-version", pyver, "--platform", plat, req, "-d", dest],
                           capture_output=True, text=True)
        if r.returncode == 0:
            name = req.split("==")[0].replace("-", "_").lower()
            for w in sorted(glob.glob(os.path.join(dest, "*.whl"))):
                if os.path.basename(w).lower().startswith(name):
                    return w
    raise SystemExit("could not download " + req)


def read_wheel(path, tmp, cs):
    z = zipfile.ZipFile(path)
    so = next(n for n in z.namelist() if re.search(r"(^|/)tensorrt(\.cpython[^/]*)?\.so$", n))
    init = os.path.join(os.path.dirname(so), "__init__.py")
    so_path = os.path.join(tmp, os.path.basename(path) + ".so")
    with z.open(so) as src, open(so_path, "wb") as dst:
        while True:
            b = src.read(1 << 20)
            if not b:
                break
            dst.write(b)
    init_text = z.read(init).decode() if init in z.namelist() else ""
    interp = Interp(Elf(so_path), cs)
    classes, functions = build_surface(interp.analyse(ENTRY_POINTS))
    attrs = set()
    if init_text:
        apply_init_py(init_text, classes, functions, attrs)
    os.unlink(so_path)
    return classes, functions, attrs


def stub_surface():
    paths = glob.glob(os.path.join(sysconfig.get_paths()["purelib"], "tensorrt_bindings", "tensorrt.pyi"))
    if not paths:
        raise SystemExit("tensorrt-stubs==10.13.0.35.1 is not installed in this interpreter")
    classes, functions, attrs = parse_stub(open(paths[0]).read())
    init = os.path.join(os.path.dirname(paths[0]), "__init__.pyi")
    if os.path.exists(init):
        tree = ast.parse(fix_stub_text(open(init).read()))
        for s in tree.body:
            if isinstance(s, ast.FunctionDef):
                functions.setdefault(s.name, func_params(s, False))
            elif isinstance(s, (ast.Assign, ast.AnnAssign)):
                for t in (s.targets if isinstance(s, ast.Assign) else [s.target]):
                    if isinstance(t, ast.Name) and t.id != "__all__":
                        attrs.add(t.id)
    return classes, functions, attrs


def finalize(classes):
    out = {}
    for name in sorted(classes):
        e = classes[name]
        d = {}
        if e["enum_members"]:
            d["enum_members"] = list(e["enum_members"])
            values = e.get("enum_values") or {}
            if all(m in values for m in d["enum_members"]):
                # value order (stable: aliases keep their registration order), so index == value
                d["enum_members"].sort(key=lambda m: values[m])
                if [values[m] for m in d["enum_members"]] != list(range(len(d["enum_members"]))):
                    d["enum_values"] = {m: values[m] for m in d["enum_members"]}
            else:
                print("warning: %s: no value for %s; members left in registration order" % (
                    name, ", ".join(m for m in d["enum_members"] if m not in values)), file=sys.stderr)
        else:
            d["methods"] = {k: e["methods"][k] for k in sorted(e["methods"])}
            ov = {k: v for k, v in e["overloads"].items() if len(v) > 1 and k in e["methods"]}
            if ov:
                d["overloads"] = {k: ov[k] for k in sorted(ov)}
            d["properties"] = sorted(set(e["properties"]))
        attrs = sorted(set(e["attributes"]) - set(e["enum_members"]) if e["enum_members"] else set(e["attributes"]))
        if attrs:
            d["attributes"] = attrs
        if e.get("bases"):
            d["bases"] = [b for b in e["bases"] if b not in ("object",)]
            if not d["bases"]:
                del d["bases"]
        out[name] = d
    return out


def write_surface(path, version, source, classes, functions, attrs):
    body = finalize(classes)
    lines = ["{", '"version": %s,' % json.dumps(version), '"source": %s,' % json.dumps(source),
             '"module_attributes": %s,' % json.dumps(sorted(attrs)),
             '"functions": %s,' % json.dumps({k: functions[k] for k in sorted(functions)}),
             '"classes": {']
    items = [json.dumps(k) + ": " + json.dumps(v, sort_keys=True) for k, v in body.items()]
    lines.append(",\n".join(items))
    lines.append("}}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def compare(a, b):
    """Differences between two surfaces (a: reference), as text lines."""
    ca, cb = a, b
    out = []
    for c in sorted(set(ca) | set(cb)):
        if c not in cb:
            out.append("missing class " + c)
            continue
        if c not in ca:
            out.append("extra class " + c)
            continue
        x, y = ca[c], cb[c]
        for k in ("methods", "properties", "enum_members"):
            sx, sy = set(x.get(k, ())), set(y.get(k, ()))
            for n in sorted(sx - sy):
                out.append("missing %s %s.%s" % (k, c, n))
            for n in sorted(sy - sx):
                out.append("extra %s %s.%s" % (k, c, n))
        vx = x.get("enum_values") or {m: i for i, m in enumerate(x.get("enum_members", ()))}
        vy = y.get("enum_values") or {m: i for i, m in enumerate(y.get("enum_members", ()))}
        for n in sorted(set(vx) & set(vy)):
            if vx[n] != vy[n]:
                out.append("value %s.%s: %s vs %s" % (c, n, vx[n], vy[n]))
        for m in sorted(set(x.get("methods", {})) & set(y.get("methods", {}))):
            px = sorted(map(tuple, x.get("overloads", {}).get(m, [x["methods"][m]])))
            py = sorted(map(tuple, y.get("overloads", {}).get(m, [y["methods"][m]])))
            if px != py:
                out.append("params %s.%s: %s vs %s" % (c, m, px, py))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--make-deltas", metavar="TENSORRT_GIT", help="recompute deltas.json from this clone")
    ap.add_argument("--check-extractor", action="store_true",
                    help="compare the binary extractor on the 10.13 wheel with the 10.13 stubs")
    ap.add_argument("--out", default=OUT_DIR)
    opts = ap.parse_args()
    os.makedirs(opts.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        capstone = capstone_module(tmp)
        cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        cs.detail = True
        if opts.check_extractor:
            req, tries = WHEELS["10.13-wheel"]
            bc, bf, ba = read_wheel(download(req, tries, tmp), tmp, cs)
            sc, sf, sa = stub_surface()
            for line in compare(finalize(sc), finalize(bc)):
                print(line)
            return
        if opts.make_deltas:
            deltas = {
                "8.5": diff_sources(opts.make_deltas, "release/8.6", "8.5.2"),
                "8.2": diff_sources(opts.make_deltas, "8.4.1", "8.2.1"),
            }
            deltas["_about"] = ("Differences between the pybind11 binding sources (python/src/**.cpp) of "
                                "NVIDIA/TensorRT at two tags, computed by scripts/trt_api_surface.py "
                                "--make-deltas. 'remove': present at 'from', absent at 'to'; 'add': present "
                                "at 'to' only (or with other parameters).")
            with open(DELTAS, "w") as f:
                json.dump(deltas, f, indent=1, sort_keys=True)
                f.write("\n")
        deltas = json.load(open(DELTAS))
        sc, sf, sa = stub_surface()
        write_surface(os.path.join(opts.out, "surface-10.13.json"), "10.13.0.35",
                      "tensorrt-stubs==10.13.0.35.1 (tensorrt_bindings/tensorrt.pyi and tensorrt/__init__.pyi, "
                      "parsed with ast)", sc, sf, sa)
        got = {}
        for label in ("11.4", "8.6", "8.4"):
            req, tries = WHEELS[label]
            wheel = download(req, tries, tmp)
            got[label] = read_wheel(wheel, tmp, cs) + (os.path.basename(wheel),)
            if label == "11.4":
                c, f, a, w = got[label]
                write_surface(os.path.join(opts.out, "surface-11.4.json"), "11.4.0.106",
                              "wheel %s: tensorrt.so module-init code statically interpreted, __init__.py "
                              "parsed" % w, c, f, a)
            if label == "8.4":
                os.unlink(wheel)  # 740 MB
        for version, base, delta_key in (("8.5.2", "8.6", "8.5"), ("8.2.1", "8.4", "8.2")):
            c, f, a, w = got[base]
            c = json.loads(json.dumps(c, default=sorted))
            for e in c.values():
                e["properties"], e["attributes"] = set(e["properties"]), set(e["attributes"])
            f, a = dict(f), set(a)
            a.discard("__version__")
            apply_delta(c, f, deltas[delta_key])
            a.add("__version__")
            write_surface(os.path.join(opts.out, "surface-%s.json" % delta_key), version,
                          "wheel %s (statically extracted as for 11.4) with tests/trt_api/deltas.json['%s'] "
                          "applied: binding-source differences NVIDIA/TensorRT %s -> %s" % (
                              w, delta_key, deltas[delta_key]["from"], deltas[delta_key]["to"]), c, f, a)


if __name__ == "__main__":
    main()
