"""What the abstract interpreter needs from a 64-bit x86 ELF shared object, read as bytes:
function symbols, code, C strings in read-only data, pointers in data.

The wheels' tensorrt.so is never loaded (that would need TensorRT's CUDA libraries); its bytes
are enough. Pointers in position-independent data are R_X86_64_RELATIVE relocations (the file
holds a placeholder there), so their addends are what pointer_at returns.
"""
import ctypes
import ctypes.util
import re
import struct
import subprocess
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple

SECTION_HEADER = "<IIQQQQIIQQ"  # name, type, flags, addr, offset, size, link, info, align, entsize
SYMBOL = "<IBBHQQ"  # name, info, other, section index, value, size
SYMBOL_SIZE = 24
RELA = "<QQq"  # offset, info, addend
RELA_SIZE = 24
R_X86_64_RELATIVE = 8
STT_FUNC = 2
SHT_PROGBITS = 1
SHF_EXECINSTR = 4
DATA_SECTIONS = (".data.rel.ro", ".data", ".got")
PRINTABLE = re.compile(rb"[\x09\x0a\x0d\x20-\x7e]+")


class Section(NamedTuple):
    type: int
    flags: int
    addr: int
    offset: int
    size: int


Span = Tuple[int, int, int]  # address, file offset, size


def _c_string(data: bytes, offset: int) -> bytes:
    return data[offset:data.index(b"\0", offset)]


def read_sections(data: bytes) -> Dict[str, Section]:
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ValueError("not a 64-bit ELF")
    header_offset, = struct.unpack_from("<Q", data, 0x28)
    entry_size, count, names_index = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from(SECTION_HEADER, data, header_offset + i * entry_size)
               for i in range(count)]
    names_offset = headers[names_index][4]
    return {_c_string(data, names_offset + h[0]).decode(): Section(h[1], h[2], h[3], h[4], h[5])
            for h in headers}


def relative_relocations(data: bytes, sections: Dict[str, Section]) -> Dict[int, int]:
    """{address: the pointer the dynamic loader writes there}."""
    table = sections.get(".rela.dyn")
    pointers: Dict[int, int] = {}
    if table is None:
        return pointers
    for i in range(table.size // RELA_SIZE):
        offset, info, addend = struct.unpack_from(RELA, data, table.offset + i * RELA_SIZE)
        if info & 0xFFFFFFFF == R_X86_64_RELATIVE:
            pointers[offset] = addend
    return pointers


def function_symbols(data: bytes, sections: Dict[str, Section]) -> Dict[int, Tuple[str, int]]:
    """{address: (mangled name, size)}: the static symbol table where the library keeps one,
    else the dynamic one. Of several names for one address the shortest is kept (an alias's
    name is usually the longer clone name)."""
    symbols, names = sections.get(".symtab"), sections.get(".strtab")
    if symbols is None or names is None:
        symbols, names = sections[".dynsym"], sections[".dynstr"]
    functions: Dict[int, Tuple[str, int]] = {}
    for i in range(symbols.size // SYMBOL_SIZE):
        name_offset, info, _, _, address, size = struct.unpack_from(
            SYMBOL, data, symbols.offset + i * SYMBOL_SIZE)
        if info & 0xF == STT_FUNC and address and size:
            name = _c_string(data, names.offset + name_offset).decode()
            if address not in functions or len(name) < len(functions[address][0]):
                functions[address] = (name, size)
    return functions


class ElfImage:
    """A shared object's bytes with its sections, function symbols and relocated pointers."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sections = read_sections(data)
        self.relocated = relative_relocations(data, self.sections)
        self.funcs = function_symbols(data, self.sections)
        self.read_only: List[Span] = [(s.addr, s.offset, s.size)
                                      for n, s in self.sections.items()
                                      if n.startswith(".rodata") and s.type == SHT_PROGBITS]
        self.writable: List[Span] = [(s.addr, s.offset, s.size)
                                     for n, s in self.sections.items() if n in DATA_SECTIONS]

    @classmethod
    def from_file(cls, path: str) -> "ElfImage":
        with open(path, "rb") as f:
            return cls(f.read())

    def code(self, address: int, size: int) -> bytes:
        for s in self.sections.values():
            if s.flags & SHF_EXECINSTR and s.addr <= address < s.addr + s.size:
                start = s.offset + address - s.addr
                return self.data[start:start + size]
        return b""

    def cstring(self, address: int) -> Optional[str]:
        """The printable NUL-terminated string at address in read-only data, else None."""
        for start, offset, size in self.read_only:
            if start <= address < start + size:
                text = _c_string(self.data, offset + address - start)
                return text.decode() if text and PRINTABLE.fullmatch(text) else None
        return None

    def pointer_at(self, address: int) -> Optional[int]:
        if address in self.relocated:
            return self.relocated[address]
        for start, offset, size in self.writable:
            if start <= address < start + size - 7:
                return struct.unpack_from("<Q", self.data, offset + address - start)[0]
        return None


def _libstdcxx() -> Optional[ctypes.CDLL]:
    for candidate in ("libstdc++.so.6", ctypes.util.find_library("stdc++")):
        if candidate:
            try:
                return ctypes.CDLL(candidate)
            except OSError:
                pass
    return None


def demangle_all(names: Iterable[str]) -> Dict[str, str]:
    """{mangled: demangled} with libstdc++'s __cxa_demangle (ctypes), else c++filt. Names that
    do not demangle map to themselves."""
    names = list(names)
    lib = _libstdcxx()
    if lib is None:
        result = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True,
                                text=True, check=True)
        return dict(zip(names, result.stdout.splitlines()))
    demangle = lib.__cxa_demangle
    demangle.restype = ctypes.c_void_p
    demangle.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.POINTER(ctypes.c_int)]
    free = ctypes.CDLL(None).free
    free.argtypes = [ctypes.c_void_p]
    demangled = {}
    for name in names:
        base, _, suffix = name.partition(".")  # GCC clone suffixes: .isra.0, .constprop.0, .cold
        status = ctypes.c_int()
        text = demangle(base.encode(), None, None, ctypes.byref(status))
        if status.value == 0 and text:
            plain = ctypes.string_at(text).decode()
            free(text)
            demangled[name] = plain + ((" [clone ." + suffix + "]") if suffix else "")
        else:
            demangled[name] = name
    return demangled
