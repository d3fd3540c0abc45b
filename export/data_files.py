"""Write each backend's graph with its own external data file.

    model.onnx      + model.onnx.data      the WebGPU graph (4/8-bit MatMulNBits)
    model-cpu.onnx  + model-cpu.onnx.data  the CPU graph (int8 MatMulInteger, its head)

The two share no bytes, so a reader downloads only the pair its backend runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx

SMALL = 1024  # bytes: smaller tensors stay inside the graph file


@dataclass
class GraphFile:
    model: str  # e.g. "model.onnx"
    data: str  # its external data file, e.g. "model.onnx.data"
    proto: onnx.ModelProto

    def data_files(self) -> list[str]:
        return [self.data]


def save_graphs(folder: Path, graphs: list[GraphFile]) -> None:
    """Write every graph file and its data file into `folder` (a fresh staging folder)."""
    for graph in graphs:
        onnx.save_model(
            graph.proto,
            str(folder / graph.model),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=graph.data,
            size_threshold=SMALL,
        )
