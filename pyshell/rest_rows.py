"""The CPU graph's rest rows: input-embedding rows read from a file on demand.

The CPU graph's output head keeps a story shortlist (export/quantize/shortlist.py),
so the model never writes any other token; only a prompt can hold one. Their int4
embedding rows (about 74 MB for Gemma 3's 180,224 such tokens) therefore live in a
file of their own, `model-cpu.rest`, and not in onnxruntime's heap: a runner reads
the few rows a run needs and feeds them to the graph, which dequantizes them with
the op and bytes it used when the table was inside it (export/graphs/cpu_graph.py).

The file, little-endian (conteur.json `graphs.wasm.rest` repeats its numbers):

    header   16 bytes: b"CTRR", uint32 version (1), uint32 rows N, uint32 record bytes R
    ids      N int32 token ids, ascending                       at ids_offset (16)
    records  N records of R bytes, record k for ids[k]          at records_offset (16 + 4 N)
             float32 scales (width / block)                     e.g. 20 → 80 bytes
             uint8 packed (width / 2): 4-bit values, low nibble first      320 bytes
             uint8 zero points (ceil(width / block / 2)), low nibble first  10 bytes
             zero padding to R, a multiple of 4                           412 in all

The graph's inputs, one row per position of `input_ids` (1, S): `rest_scales`
float32 (S, width / block), `rest_packed` uint8 (S, width / 2), `rest_zero_points`
uint8 (S, ceil(width / block / 2)); zeros for a kept token, whose row the graph
takes from its head. The page's reader is web/static/js/worker/rest-rows.js.

Only numpy: the CLI, the tests and the exporter use this module, never Pyodide.
"""

from __future__ import annotations

import math
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pyshell.config import ModelConfig, RestFile

MAGIC = b"CTRR"
VERSION = 1
HEADER = struct.Struct("<4sIII")  # magic, version, rows, record bytes
INPUTS = ("rest_scales", "rest_packed", "rest_zero_points")  # the graph's input names


@dataclass(frozen=True)
class RestLayout:
    """Where things lie in a rest file of `rows` rows of `width` values (block `block`)."""

    rows: int
    width: int  # the embedding's width (hidden size)
    block: int  # values per scale

    @property
    def scale_count(self) -> int:
        return self.width // self.block

    @property
    def packed_bytes(self) -> int:
        return self.width // 2

    @property
    def zero_point_bytes(self) -> int:
        return math.ceil(self.scale_count / 2)

    @property
    def record_bytes(self) -> int:
        used = 4 * self.scale_count + self.packed_bytes + self.zero_point_bytes
        return -(-used // 4) * 4  # records stay 4-byte aligned for the float32 scales

    @property
    def ids_offset(self) -> int:
        return HEADER.size

    @property
    def records_offset(self) -> int:
        return self.ids_offset + 4 * self.rows

    @property
    def file_bytes(self) -> int:
        return self.records_offset + self.rows * self.record_bytes

    def to_json(self, file: str) -> dict:
        """conteur.json `graphs.wasm.rest`: the file and the numbers a reader checks."""
        return {
            "file": file,
            "rows": self.rows,
            "width": self.width,
            "block": self.block,
            "record_bytes": self.record_bytes,
            "ids_offset": self.ids_offset,
            "records_offset": self.records_offset,
        }

    def record_dtype(self) -> np.dtype:
        """One record as a numpy structured type (the padding is an unnamed gap)."""
        return np.dtype(
            {
                "names": ["scales", "packed", "zero_points"],
                "formats": [
                    ("<f4", (self.scale_count,)),
                    ("u1", (self.packed_bytes,)),
                    ("u1", (self.zero_point_bytes,)),
                ],
                "offsets": [0, 4 * self.scale_count, 4 * self.scale_count + self.packed_bytes],
                "itemsize": self.record_bytes,
            }
        )


class RestRowsError(ValueError):
    """A rest file that does not match what conteur.json says: re-export the model."""


def write_rest_rows(
    path: Path,
    ids: np.ndarray,
    scales: np.ndarray,
    packed: np.ndarray,
    zero_points: np.ndarray,
    block: int,
) -> RestLayout:
    """Write the rest file: `ids` (N,) ascending; `scales` (N, width / block) float16 or
    float32 (stored float32, an exact widening); `packed` (N, width / 2) and
    `zero_points` (N, ceil(width / block / 2)) uint8, as export/quantize/blocks.py packs them."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or np.any(np.diff(ids) <= 0):
        raise ValueError("the rest ids must be one ascending list")
    layout = RestLayout(rows=len(ids), width=packed.shape[1] * 2, block=block)
    records = np.zeros(len(ids), layout.record_dtype())
    records["scales"] = scales.astype(np.float32)
    records["packed"] = packed
    records["zero_points"] = zero_points
    with Path(path).open("wb") as f:
        f.write(HEADER.pack(MAGIC, VERSION, layout.rows, layout.record_bytes))
        f.write(ids.astype("<i4").tobytes())
        f.write(records.tobytes())
    return layout


class RestRows:
    """A rest file, mapped rather than read: the rows a run needs come off the disk."""

    @classmethod
    def open(cls, folder: Path, entry: RestFile) -> RestRows:
        """The rest file conteur.json's `entry` describes, checked against it."""
        layout = RestLayout(rows=entry.rows, width=entry.width, block=entry.block)
        if layout.to_json(entry.file) != asdict(entry):
            raise RestRowsError(
                f"conteur.json describes {entry.file} in a layout this code cannot read"
            )
        return cls(Path(folder) / entry.file, layout)

    def __init__(self, path: Path, layout: RestLayout) -> None:
        self.path = Path(path)
        self.layout = layout
        if not self.path.is_file():
            raise RestRowsError(f"{self.path} is missing: re-export the model")
        size = self.path.stat().st_size
        if size != layout.file_bytes:
            raise RestRowsError(
                f"{self.path.name} has {size:,} bytes, conteur.json says {layout.file_bytes:,}: "
                "re-export the model"
            )
        with self.path.open("rb") as f:
            magic, version, rows, record_bytes = HEADER.unpack(f.read(HEADER.size))
        if (magic, version, rows, record_bytes) != (
            MAGIC, VERSION, layout.rows, layout.record_bytes
        ):  # fmt: skip
            raise RestRowsError(f"{self.path.name} is not the rest file conteur.json describes")
        self.ids = np.fromfile(self.path, "<i4", layout.rows, offset=layout.ids_offset)  # (N,)
        self.records = np.memmap(
            self.path, layout.record_dtype(), "r", layout.records_offset, (layout.rows,)
        )  # (N,)

    def feeds(self, ids: list[int] | np.ndarray) -> dict[str, np.ndarray]:
        """The graph's three rest inputs for one run over `ids`: (S, …) each."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)  # (S,)
        slots = np.searchsorted(self.ids, ids)  # (S,)
        slots = np.minimum(slots, self.layout.rows - 1)
        is_rest = self.ids[slots] == ids  # (S,)
        rows = np.zeros(len(ids), self.layout.record_dtype())
        if is_rest.any():
            rows[is_rest] = self.records[slots[is_rest]]
        return {
            "rest_scales": np.ascontiguousarray(rows["scales"]),
            "rest_packed": np.ascontiguousarray(rows["packed"]),
            "rest_zero_points": np.ascontiguousarray(rows["zero_points"]),
        }


def graph_rest_rows(folder: Path, backend: str = "wasm") -> RestRows | None:
    """The rest rows `backend`'s graph in `folder` takes, or None when it takes none."""
    entry = ModelConfig.from_file(folder).graph(backend).rest
    return None if entry is None else RestRows.open(folder, entry)


def takes_rest_rows(input_names) -> bool:
    """Whether a graph with these input names must be fed rest rows."""
    return INPUTS[0] in set(input_names)
