"""Run a FakeQuantModel's traced graph, reusing cached activations of a base configuration.

Changing some layers' precision changes exactly those layers and everything downstream of them.
Given the activations of a base configuration (all FP16, or all INT8) for a batch, a new
configuration only recomputes the nodes that depend on a layer whose precision differs from the
base; every other value (the prefix, and skip connections from it) is reused.
"""
from typing import Dict, List, Sequence, Set

import torch
from torch import fx

from edgec.quant.evaluator.fakequant import FakeQuantModel, primary_output


def _reads_shape(node: fx.Node) -> bool:
    if node.op == "call_function" and node.target is getattr:
        return len(node.args) > 1 and node.args[1] in ("shape", "ndim", "dtype", "device")
    return node.op == "call_method" and node.target in ("size", "dim")


class PartialRunner(object):
    def __init__(self, model: FakeQuantModel):
        self.model = model
        self.gm = model.graph_module
        self.nodes = list(self.gm.graph.nodes)
        self.modules = dict(self.gm.named_modules())
        self.placeholders = [n for n in self.nodes if n.op == "placeholder"]
        self.output_node = [n for n in self.nodes if n.op == "output"][0]
        # Node of each switchable layer, and every node downstream of it (itself included).
        by_switch = {id(sw): name for name, sw in model.switches.items()}
        self.layer_node = {}  # type: Dict[str, fx.Node]
        for node in self.nodes:
            if node.op == "call_module" and id(self.modules[node.target]) in by_switch:
                self.layer_node[by_switch[id(self.modules[node.target])]] = node
        # Residual fake-quant nodes read their conv's precision: they belong to that layer too.
        self.residual_of = {}  # type: Dict[str, List[fx.Node]]
        for node in self.nodes:
            if node.op == "call_module" and node.target.startswith("edgec_residual_quant_"):
                for sw in self.modules[node.target].convs:
                    self.residual_of.setdefault(by_switch[id(sw)], []).append(node)
        self.position = {node: i for i, node in enumerate(self.nodes)}
        self._downstream = {}  # type: Dict[str, Set[fx.Node]]

    def downstream(self, layer: str) -> Set[fx.Node]:
        """Every node whose value can change with the layer's precision. A shape read
        (x.shape, x.size(), x.dim()) cannot: precision never changes a shape, so what only
        reads one is reused. (SPADE resizes its conditioning map to x.shape in every block;
        counted as downstream, the map and the three convs reading it were recomputed.)"""
        if layer not in self._downstream:
            seen = set()  # type: Set[fx.Node]
            stack = [self.layer_node[layer]] + self.residual_of.get(layer, [])
            while stack:
                node = stack.pop()
                if node in seen:
                    continue
                seen.add(node)
                stack.extend(user for user in node.users if not _reads_shape(user))
            self._downstream[layer] = seen
        return self._downstream[layer]

    def dirty_nodes(self, changed: Sequence[str]) -> List[fx.Node]:
        dirty = set()  # type: Set[fx.Node]
        for layer in changed:
            dirty |= self.downstream(layer)
        return sorted(dirty, key=self.position.__getitem__)

    def _exec(self, node: fx.Node, env: Dict[fx.Node, object]):
        args = fx.node.map_arg(node.args, lambda n: env[n])
        kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n])
        if node.op == "call_module":
            return self.modules[node.target](*args, **kwargs)
        if node.op == "call_function":
            return node.target(*args, **kwargs)
        if node.op == "call_method":
            return getattr(args[0], node.target)(*args[1:], **kwargs)
        if node.op == "get_attr":
            value = self.gm
            for part in node.target.split("."):
                value = getattr(value, part)
            return value
        raise RuntimeError("cannot execute node %s (%s)" % (node.name, node.op))

    @torch.no_grad()
    def run_full(self, inputs: Sequence[torch.Tensor]) -> Dict[fx.Node, object]:
        """Every node's value for the current precisions (the cache for partial runs)."""
        env = {}  # type: Dict[fx.Node, object]
        for placeholder, value in zip(self.placeholders, inputs):
            env[placeholder] = value
        for node in self.nodes:
            if node.op in ("placeholder", "output"):
                continue
            env[node] = self._exec(node, env)
        env[self.output_node] = fx.node.map_arg(self.output_node.args[0], lambda n: env[n])
        return env

    @torch.no_grad()
    def run_partial(self, base_env: Dict[fx.Node, object], changed: Sequence[str]):
        """The output for the current precisions, where only `changed` layers differ from the
        configuration that produced `base_env`."""
        env = dict(base_env)
        for node in self.dirty_nodes(changed):
            if node.op != "output":
                env[node] = self._exec(node, env)
        return primary_output(fx.node.map_arg(self.output_node.args[0], lambda n: env[n]))

    def recompute_fraction(self, changed: Sequence[str], macs: Dict[str, int]) -> float:
        """Share of the model's conv MACs a partial run recomputes (to pick the cheaper base)."""
        dirty = set(self.dirty_nodes(changed))
        total = sum(macs.values())
        redone = sum(macs[name] for name, node in self.layer_node.items() if node in dirty)
        return redone / float(total) if total else 1.0
