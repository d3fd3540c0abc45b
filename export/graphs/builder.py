"""GraphBuilder: the nodes and constants of an ONNX graph, with unique names.

Every node and intermediate tensor is named `<hint>_<n>` from one counter, so a
graph built by the same calls in the same order is the same graph, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from onnx import helper, numpy_helper

MS = "com.microsoft"  # onnxruntime's contrib operators
OPSET = 21


@dataclass
class GraphBuilder:
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    counter: int = 0

    def name(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def const(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def int64(self, name: str, values) -> str:
        """An int64 constant (shapes, axes, indices)."""
        return self.const(name, np.array(values, np.int64))

    def op(self, op_type: str, inputs: list[str], hint: str, outputs: int = 1, domain="", **attrs):
        """Add one node; returns its output name (or names when outputs > 1)."""
        names = [self.name(hint) for _ in range(outputs)]
        self.nodes.append(
            helper.make_node(
                op_type, inputs, names, name=self.name(op_type), domain=domain, **attrs
            )
        )
        return names[0] if outputs == 1 else names

    def op_named(self, op_type: str, inputs: list[str], output: str, **attrs) -> str:
        """Add one node whose output has a fixed name (a graph output such as present.*)."""
        self.nodes.append(
            helper.make_node(op_type, inputs, [output], name=self.name(op_type), **attrs)
        )
        return output
