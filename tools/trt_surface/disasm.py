"""An abstract x86-64 machine that follows constants, not computations: which string, static
address, stack address or integer each register and memory slot holds, through the moves,
loads, stores and stack adjustments of compiled code.

That is enough to read pybind11 module-init code, where the names of classes, methods and enum
members are string constants handed (directly, through the stack or in a small struct) to
pybind11 functions. Anything else (arithmetic, flags, branches) makes its destination unknown;
the instructions of a function run once each in address order, both sides of every branch,
which suits straight-line registration code. What calls mean is for a subclass (pybind.py)
to say: Machine.call only forgets the caller-saved registers.

Values (tuples, so they can be memory keys and dictionary keys):
    ("S", offset)        an address on the stack, relative to the entry stack pointer
    ("A", address)       a static address in the image
    ("I", n)             an integer
    ("P", name)          an opaque incoming pointer (the module object)
    ("L", key)           the unknown contents of memory at key
    ("K", base, offset)  a memory key relative to an opaque pointer or unknown value
    None                 unknown
Operands, as decode makes them from capstone's: ("r", register, size), ("i", immediate, size),
("m", base register, index register, displacement, size), rip-relative displacements made
absolute.
"""
from typing import Any, Dict, List, Optional, Tuple

Value = Optional[Tuple[Any, ...]]
Operand = Tuple[Any, ...]
Instruction = Tuple[int, str, List[Operand]]  # address, mnemonic, operands
Registers = Dict[Optional[str], Value]  # by 64-bit name (None: a register not tracked)


def _register_aliases() -> Dict[str, str]:
    """Every general-purpose register name (eax, si, r8d, ...) -> its 64-bit register."""
    aliases = {}
    for letter in "abcd":
        for pattern in ("r%sx", "e%sx", "%sx", "%sl", "%sh"):
            aliases[pattern % letter] = "r%sx" % letter
    for stem in ("si", "di", "bp", "sp"):
        for pattern in ("r%s", "e%s", "%s", "%sl"):
            aliases[pattern % stem] = "r" + stem
    for number in range(8, 16):
        for pattern in ("r%d", "r%dd", "r%dw", "r%db"):
            aliases[pattern % number] = "r%d" % number
    return aliases


GPR = _register_aliases()
ARGUMENT_REGISTERS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")  # System V AMD64
CALLER_SAVED = ("rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11")
VECTOR_MOVES = ("movdqa", "movdqu", "movaps", "movups", "movapd", "movupd", "lddqu")
# VEX forms read as their SSE forms (the compiler mixes both in one function)
VEX_AS_SSE = ("movq", "movdqa", "movdqu", "movaps", "movups", "movhps", "movlps", "punpcklqdq")
NO_EFFECT = ("cmp", "test", "jmp", "nop", "endbr64", "ud2", "leave", "hlt", "int3")
UNKNOWN_PAIR: Tuple[Value, Value] = (None, None)  # an xmm register never written


def shifted(key: Value, offset: int) -> Value:
    """The memory key offset bytes after key."""
    if key is None:
        return None
    if key[0] in ("S", "A"):
        return (key[0], key[1] + offset)
    if key[0] == "K":
        return ("K", key[1], key[2] + offset)
    return None


def pointee_key(pointer: Value, offset: int = 0) -> Value:
    """The memory key of what pointer (+ offset) points at."""
    if pointer is None:
        return None
    if pointer[0] in ("P", "L"):
        return ("K", pointer, offset)
    return shifted(pointer, offset)


class MachineState:
    """Registers by 64-bit name; xmm registers as [low, high] quadwords; 64-bit memory slots by
    key; the 32-bit slots known to hold an integer (enum values are 32-bit)."""

    def __init__(self, registers: Registers) -> None:
        self.regs = registers
        self.xmm: Dict[str, List[Value]] = {}
        self.mem: Dict[Value, Value] = {}
        self.mem32: Dict[Value, Value] = {}
        self.enum_int: Value = None  # set by pybind.py: the value an inlined enum cast reads


def _is_unwind(mnemonic: str, ops: List[Operand]) -> bool:
    """An instruction of a function epilogue (restoring the stack and callee-saved registers)."""
    return mnemonic in ("pop", "leave") or (
        mnemonic in ("add", "lea") and bool(ops) and ops[0][0] == "r" and ops[0][1] == "rsp")


def _grows_frame(mnemonic: str, ops: List[Operand]) -> bool:
    return mnemonic in ("call", "push") or (
        mnemonic == "sub" and bool(ops) and ops[0][0] == "r" and ops[0][1] == "rsp")


def _as_sse(mnemonic: str, ops: List[Operand]) -> Tuple[str, List[Operand]]:
    """A VEX move as its two-operand SSE form (vpunpcklqdq's first source is its destination)."""
    if mnemonic.startswith("v") and mnemonic[1:] in VEX_AS_SSE:
        mnemonic = mnemonic[1:]
        if len(ops) == 3:
            ops = [ops[0], ops[2]] if mnemonic == "punpcklqdq" else ops[:2]
    return mnemonic, ops


def _xmm_low(state: MachineState, register: str) -> Value:
    return state.xmm.get(register, UNKNOWN_PAIR)[0]


def _operand_size(op: Operand) -> int:
    return op[2] if op[0] != "m" else op[4]


class Machine:
    """Runs the functions of an image (elf.ElfImage or anything with funcs, code, cstring and
    pointer_at) abstractly; disassembler is a capstone Cs for x86-64 with detail on."""

    def __init__(self, image: Any, disassembler: Any) -> None:
        self.image = image
        self.disassembler = disassembler
        self.decoded: Dict[int, List[Instruction]] = {}

    # -- decoding --------------------------------------------------------------------------
    def decode(self, address: int) -> List[Instruction]:
        if address in self.decoded:
            return self.decoded[address]
        # imported here: the tool may pip-install capstone into a temporary folder at run time
        from capstone import x86
        _, size = self.image.funcs[address]
        instructions = []
        for ins in self.disassembler.disasm(self.image.code(address, size), address):
            ops: List[Operand] = []
            for op in ins.operands:
                if op.type == x86.X86_OP_REG:
                    ops.append(("r", ins.reg_name(op.reg), op.size))
                elif op.type == x86.X86_OP_IMM:
                    ops.append(("i", op.imm, op.size))
                elif op.type == x86.X86_OP_MEM:
                    base = ins.reg_name(op.mem.base) if op.mem.base else None
                    index = ins.reg_name(op.mem.index) if op.mem.index else None
                    disp = op.mem.disp + (ins.address + ins.size if base == "rip" else 0)
                    ops.append(("m", base, index, disp, op.size))
            instructions.append((ins.address, ins.mnemonic, ops))
        self.decoded[address] = instructions
        return instructions

    # -- values ----------------------------------------------------------------------------
    def load(self, state: MachineState, key: Value) -> Value:
        if key is None:
            return None
        if key in state.mem:
            return state.mem[key]
        if key[0] == "A":  # static data: what the file (or its relocations) holds
            pointer = self.image.pointer_at(key[1])
            return ("A", pointer) if pointer else None
        return ("L", key)

    def string(self, value: Value) -> Optional[str]:
        if value and value[0] == "A":
            return self.image.cstring(value[1])
        return None

    def deref_string(self, state: MachineState, value: Value) -> Optional[str]:
        """The string a pointer argument means: a char* itself, or a char* stored where it
        points (a pybind11::arg, a std::string)."""
        text = self.string(value)
        if text is not None:
            return text
        return self.string(self.load(state, pointee_key(value)))

    def address_of(self, state: MachineState, op: Operand) -> Value:
        _, base, index, disp, _ = op
        if index is not None:
            return None
        if base == "rip" or base is None:
            return ("A", disp)
        base_value = state.regs.get(GPR.get(base, base))
        if base_value is None:
            return None
        if base_value[0] in ("S", "A"):
            return (base_value[0], base_value[1] + disp)
        if base_value[0] in ("P", "L"):
            return ("K", base_value, disp) if disp else base_value
        return None

    def memory_key(self, state: MachineState, op: Operand) -> Value:
        address = self.address_of(state, op)
        if address is None:
            return None
        return address if address[0] in ("S", "A", "K") else ("K", address, 0)

    def read(self, state: MachineState, op: Operand) -> Value:
        """A 64-bit operand's value (the low quadword of an xmm register)."""
        if op[0] == "r":
            if op[1].startswith("xmm"):
                return _xmm_low(state, op[1])
            register = GPR.get(op[1])
            return state.regs.get(register) if register and op[2] == 8 else None
        if op[0] == "i":
            return ("I", op[1])
        if op[4] != 8:
            return None
        return self.load(state, self.memory_key(state, op))

    def write(self, state: MachineState, op: Operand, value: Value, size: int = 8) -> None:
        if op[0] == "r":
            if op[1].startswith("xmm"):
                state.xmm[op[1]] = [value, None]
                return
            register = GPR.get(op[1])
            if register:
                state.regs[register] = value if size == 8 else None
            return
        if op[0] == "m":
            key = self.memory_key(state, op)
            if key is None:
                return
            self.forget32(state, key, size)
            if size >= 8:
                state.mem[key] = value
            else:
                state.mem.pop(key, None)

    def read32(self, state: MachineState, op: Operand) -> Value:
        """A 32-bit integer operand as ("I", n), where known (immediates, registers, slots)."""
        if op[0] == "i":
            return ("I", op[1] & 0xFFFFFFFF)
        if op[0] == "r":
            value = state.regs.get(GPR.get(op[1]))
            return ("I", value[1] & 0xFFFFFFFF) if value and value[0] == "I" else None
        if op[0] == "m":
            key = self.memory_key(state, op)
            return state.mem32.get(key) if key is not None else None
        return None

    def forget32(self, state: MachineState, key: Value, size: int) -> None:
        """Drop the known 32-bit slots that a write of size bytes at key overlaps."""
        if state.mem32 and key is not None:
            for offset in range(-3, max(size, 1)):
                state.mem32.pop(shifted(key, offset), None)

    # -- execution -------------------------------------------------------------------------
    def run(self, address: int, state: MachineState, depth: int,
            context: Dict[str, Any]) -> List[Value]:
        """Execute the function at address; returns the values it returns (rax at each exit)."""
        returns: List[Value] = []
        end = address + self.image.funcs[address][1]
        # registers as they were before the current run of epilogue instructions: a return or
        # tail call in the middle of the function leaves the caller's registers as they were
        unwind = None
        for _, mnemonic, ops in self.decode(address):
            if _is_unwind(mnemonic, ops):
                if unwind is None:
                    unwind = dict(state.regs)
            elif _grows_frame(mnemonic, ops):
                unwind = None
            mnemonic, ops = _as_sse(mnemonic, ops)
            registers = state.regs
            try:
                if mnemonic == "call" or (
                        mnemonic == "jmp" and ops and ops[0][0] == "i"
                        and ops[0][1] in self.image.funcs and ops[0][1] != address):
                    self.call(state, ops, depth, context)
                    if mnemonic == "jmp":  # a tail call: this function returns here too
                        returns.append(registers.get("rax"))
                        if unwind is not None:
                            state.regs, unwind = unwind, None
                elif mnemonic == "ret" or (mnemonic == "jmp" and ops and (
                        ops[0][0] != "i" or not address <= ops[0][1] < end)):
                    returns.append(registers.get("rax"))
                    if unwind is not None:
                        state.regs, unwind = unwind, None
                else:
                    self.execute(state, mnemonic, ops)
            except (KeyError, IndexError, TypeError):
                pass  # an operand form this machine does not model: its effect stays unknown
        return returns

    def call(self, state: MachineState, ops: List[Operand], depth: int,
             context: Dict[str, Any]) -> None:
        """A call whose meaning is unknown: it may change every caller-saved register."""
        self.forget_caller_saved(state)

    @staticmethod
    def forget_caller_saved(state: MachineState) -> None:
        for register in CALLER_SAVED:
            state.regs[register] = None
        for register in list(state.xmm):
            state.xmm[register] = [None, None]

    def execute(self, state: MachineState, mnemonic: str, ops: List[Operand]) -> None:
        """One instruction other than a call or a return."""
        if mnemonic in ("mov", "movabs") and len(ops) == 2:
            self._mov(state, ops[0], ops[1])
        elif mnemonic == "movq" and len(ops) == 2:
            self._movq(state, ops[0], ops[1])
        elif mnemonic in VECTOR_MOVES:
            destination, source = ops
            self._move128(state, destination, source)
        elif mnemonic in ("movhps", "movhpd", "movlps", "movlpd"):
            destination, source = ops
            self._move_half(state, destination, source, 1 if mnemonic[3] == "h" else 0)
        elif mnemonic in ("punpcklqdq", "movlhps"):
            destination, source = ops
            low = _xmm_low(state, destination[1])
            high = (_xmm_low(state, source[1]) if source[0] == "r"
                    else self.read(state, source[:4] + (8,)))
            state.xmm[destination[1]] = [low, high]
        elif mnemonic in ("pxor", "xorps") and ops[0] == ops[1]:
            state.xmm[ops[0][1]] = [("I", 0), ("I", 0)]
        elif mnemonic == "lea":
            destination, source = ops
            self.write(state, destination,
                       self.address_of(state, source) if destination[2] == 8 else None,
                       destination[2])
        elif mnemonic == "push":
            self._push(state, self.read(state, ops[0]))
        elif mnemonic == "pop":
            self._pop(state, ops[0])
        elif mnemonic in ("add", "sub") and ops[0][0] == "r":
            self._add_to_register(state, ops[0], ops[1], 1 if mnemonic == "add" else -1)
        elif mnemonic == "xor" and ops[0][0] == "r" and ops[0] == ops[1]:
            self.write(state, ops[0], ("I", 0))
        elif mnemonic in NO_EFFECT or mnemonic.startswith("j"):
            if mnemonic == "leave":
                self._leave(state)
        else:
            self._clobber_destination(state, mnemonic, ops)

    def _mov(self, state: MachineState, destination: Operand, source: Operand) -> None:
        if source[0] == "r" and source[1].startswith("xmm"):
            self.write(state, destination, _xmm_low(state, source[1]),
                       _operand_size(destination))
            return
        size = destination[2] if destination[0] == "r" else destination[4]
        if size != 4:
            self.write(state, destination, self.read(state, source) if size == 8 else None, size)
            return
        # 32-bit moves carry the integers that become enum values
        value32 = self.read32(state, source)
        if destination[0] == "r":
            self.write(state, destination, value32)  # zero-extending into the 64-bit register
            return
        self.write(state, destination, None, size)
        key = self.memory_key(state, destination)
        if key is not None and value32 is not None:
            state.mem32[key] = value32

    def _movq(self, state: MachineState, destination: Operand, source: Operand) -> None:
        if destination[0] == "r" and destination[1].startswith("xmm"):
            from_xmm = source[0] == "r" and source[1].startswith("xmm")
            low = _xmm_low(state, source[1]) if from_xmm else self.read(state, source)
            state.xmm[destination[1]] = [low, None]
        elif source[0] == "r" and source[1].startswith("xmm"):
            self.write(state, destination, _xmm_low(state, source[1]))
        else:
            self.write(state, destination, self.read(state, source))

    def _move128(self, state: MachineState, destination: Operand, source: Operand) -> None:
        """A 16-byte move: two quadwords (a std::string or pybind11::arg built on the stack)."""
        if source[0] == "m":
            low = self.memory_key(state, source)
            pair: List[Value] = ([self.load(state, low), self.load(state, shifted(low, 8))]
                                 if low else [None, None])
        else:
            pair = list(state.xmm.get(source[1], UNKNOWN_PAIR))
        if destination[0] != "m":
            state.xmm[destination[1]] = pair
            return
        key = self.memory_key(state, destination)
        self.forget32(state, key, 16)
        if key:
            state.mem[key] = pair[0]
            high_key = shifted(key, 8)
            if high_key:
                state.mem[high_key] = pair[1]

    def _move_half(self, state: MachineState, destination: Operand, source: Operand,
                   half: int) -> None:
        """movlps / movhps (half 0 / 1): one quadword into or out of an xmm register."""
        if destination[0] == "r":
            pair = state.xmm.setdefault(destination[1], [None, None])
            pair[half] = self.read(state, source[:4] + (8,)) if source[0] == "m" else None
        else:
            self.write(state, destination, state.xmm.get(source[1], UNKNOWN_PAIR)[half])

    def _push(self, state: MachineState, value: Value) -> None:
        top = state.regs.get("rsp")
        if top and top[0] == "S":
            top = ("S", top[1] - 8)
            state.regs["rsp"] = top
            state.mem[top] = value

    def _pop(self, state: MachineState, destination: Operand) -> None:
        top = state.regs.get("rsp")
        if top and top[0] == "S":
            self.write(state, destination, state.mem.get(top))
            state.regs["rsp"] = ("S", top[1] + 8)
        else:
            self.write(state, destination, None)

    @staticmethod
    def _leave(state: MachineState) -> None:
        """mov rsp, rbp; pop rbp."""
        frame = state.regs.get("rbp")
        if frame and frame[0] == "S":
            state.regs["rbp"] = state.mem.get(frame)
            state.regs["rsp"] = ("S", frame[1] + 8)

    @staticmethod
    def _add_to_register(state: MachineState, destination: Operand, source: Operand,
                         sign: int) -> None:
        """add/sub on a register: addresses move by constants; anything else is unknown."""
        register = GPR.get(destination[1])
        value = state.regs.get(register)
        if source[0] == "i" and value and value[0] in ("S", "A") and destination[2] == 8:
            state.regs[register] = (value[0], value[1] + sign * source[1])
        elif register != "rsp":  # a stack pointer moved by a non-constant keeps its last value
            state.regs[register] = None

    def _clobber_destination(self, state: MachineState, mnemonic: str,
                             ops: List[Operand]) -> None:
        """An instruction this machine does not follow: its destination becomes unknown."""
        if ops and ops[0][0] == "r":
            register = ops[0][1]
            if register.startswith("xmm"):
                state.xmm[register] = [None, None]
            elif GPR.get(register) and GPR[register] != "rsp":
                state.regs[GPR[register]] = None
        elif ops and ops[0][0] == "m" and mnemonic != "prefetcht0":
            key = self.memory_key(state, ops[0])
            self.forget32(state, key, ops[0][4])
            if key is not None and ops[0][4] >= 8:
                state.mem.pop(key, None)
