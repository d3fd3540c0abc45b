"""Write each backend's graph with its own external data file, and where the page may cut it.

    model.onnx      + model.onnx.data      the WebGPU graph (4/8-bit MatMulNBits)
    model-cpu.onnx  + model-cpu.onnx.data  the CPU graph (int8 MatMulInteger, its head)
    model-cpu.rest                         its embedding rows outside the head (read on demand)

The two share no bytes, so a reader downloads only the pair its backend runs.
Tensors follow each other in a data file without gaps, and conteur.json lists
where the page may cut it into chunks at tensor boundaries (`data_chunks`): the
page frees each chunk once onnxruntime has copied the tensors in it
(web/static/js/worker/chunked-file.js).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from export.errors import OutputError
from export.quantize.blocks import QuantizedMatrix
from pyshell.rest_rows import RestLayout, write_rest_rows

SMALL = 1024  # bytes: smaller tensors stay inside the graph file


@dataclass
class RestTable:
    """The CPU graph's embedding rows of the tokens outside its head, as their own file
    (pyshell/rest_rows.py): a runner reads the few a prompt needs."""

    file: str  # e.g. "model-cpu.rest"
    ids: np.ndarray  # int64 (N,): the tokens, ascending
    matrix: QuantizedMatrix  # int4 (N, D), with zero points

    def entry(self) -> dict:
        """conteur.json `graphs.wasm.rest`."""
        rows, width = self.matrix.shape
        return RestLayout(rows=rows, width=width, block=self.matrix.block).to_json(self.file)

    def write(self, folder: Path) -> None:
        m = self.matrix
        write_rest_rows(folder / self.file, self.ids, m.scales, m.packed, m.zero_points, m.block)


@dataclass
class GraphFile:
    """One backend's graph as the folder holds it, and what conteur.json says about it."""

    model: str  # e.g. "model.onnx"
    data: str  # its external data file, e.g. "model.onnx.data"
    proto: onnx.ModelProto
    head: dict  # {"kept", "of", "rule"}: the output tokens the graph gives logits for
    session: dict  # how onnxruntime opens it (the graph module's SESSION)
    kv_cache: str  # the KV cache's element type, "float32" or "float16" (the graph module's)
    rest: RestTable | None = None  # rows fed to the graph, kept out of it (the CPU graph)

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
        if graph.rest is not None:
            graph.rest.write(folder)


CHUNK_BYTES = 1 << 20  # a chunk closes at the first tensor boundary past 1 MiB


def data_chunks(folder: Path, graph: GraphFile) -> list[int]:
    """Where the page splits the data file into chunks: byte offsets, first 0.

    Each chunk ends at a tensor boundary: one tensor of 1 MiB or more, or several
    smaller ones. The page frees a chunk once onnxruntime has copied its tensors,
    whatever order onnxruntime asks for them in (web/static/js/worker/chunked-file.js).
    Raises unless the file is exactly its tensors, back to back.
    """
    proto = onnx.load(str(folder / graph.model), load_external_data=False)
    spans = []
    for tensor in proto.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            fields = {entry.key: entry.value for entry in tensor.external_data}
            spans.append((int(fields.get("offset", 0)), int(fields["length"])))
    starts, end = [], 0
    for offset, length in sorted(spans):
        if offset != end:
            raise OutputError(f"{graph.data}: a gap or overlap at byte {end:,}")
        if not starts or offset - starts[-1] >= CHUNK_BYTES:
            starts.append(offset)
        end = offset + length
    if end != (folder / graph.data).stat().st_size:
        raise OutputError(f"{graph.data}: bytes after the last tensor")
    return starts or [0]
