"""The rest file (pyshell/rest_rows.py): its bytes as the docstring lays them out, the
rows a run is fed, and a clear refusal of a file that is not the one conteur.json names."""

from __future__ import annotations

import struct
from dataclasses import replace

import numpy as np
import pytest

from export.quantize.blocks import quantize
from pyshell.config import ConfigError, RestFile, read_graphs
from pyshell.rest_rows import RestLayout, RestRows, RestRowsError, write_rest_rows

WIDTH, BLOCK = 64, 32


@pytest.fixture
def table(tmp_path):
    """Rows of 64 values for tokens 3, 7, 8 and 20, written as the exporter writes them."""
    rng = np.random.default_rng(0)
    ids = np.array([3, 7, 8, 20])
    m = quantize(rng.normal(size=(4, WIDTH)).astype(np.float32), bits=4, block=BLOCK)
    path = tmp_path / "model-cpu.rest"
    layout = write_rest_rows(path, ids, m.scales, m.packed, m.zero_points, BLOCK)
    entry = RestFile(**layout.to_json(path.name))
    return ids, m, path, entry


def test_the_file_is_laid_out_as_documented(table):
    _, m, path, entry = table
    data = path.read_bytes()
    # a record: 2 float32 scales (8 bytes) + 32 packed + 1 zero-point byte = 41, padded to 44
    assert data[:16] == struct.pack("<4sIII", b"CTRR", 1, 4, 44)
    assert entry.record_bytes == 44 and entry.ids_offset == 16 and entry.records_offset == 32
    assert np.frombuffer(data[16:32], "<i4").tolist() == [3, 7, 8, 20]
    second = data[32 + 44 : 32 + 88]
    assert np.frombuffer(second[:8], "<f4").tolist() == m.scales[1].astype(np.float32).tolist()
    assert second[8:40] == m.packed[1].tobytes() and second[40:41] == m.zero_points[1].tobytes()
    assert second[41:] == b"\0\0\0" and len(data) == 32 + 4 * 44


def test_feeds_hold_each_positions_row_and_zeros_for_other_tokens(table):
    _, m, path, entry = table
    rows = RestRows.open(path.parent, entry)
    feeds = rows.feeds([8, 5, 3, 8, 21])  # 5 and 21 are not rest tokens
    assert feeds["rest_scales"].shape == (5, 2) and feeds["rest_scales"].dtype == np.float32
    assert feeds["rest_packed"].shape == (5, 32) and feeds["rest_zero_points"].shape == (5, 1)
    for position, slot in ((0, 2), (2, 0), (3, 2)):
        assert np.array_equal(feeds["rest_packed"][position], m.packed[slot])
        assert np.array_equal(feeds["rest_zero_points"][position], m.zero_points[slot])
        assert np.array_equal(feeds["rest_scales"][position], m.scales[slot].astype(np.float32))
    for position in (1, 4):
        assert not feeds["rest_packed"][position].any() and not feeds["rest_scales"][position].any()


def test_a_file_that_is_not_the_one_described_is_refused(table):
    *_, path, entry = table
    with pytest.raises(RestRowsError, match="re-export"):
        RestRows.open(path.parent, replace(entry, rows=5, records_offset=36))  # size differs
    data = bytearray(path.read_bytes())
    data[:4] = b"XXXX"
    path.write_bytes(bytes(data))
    with pytest.raises(RestRowsError, match="not the rest file"):
        RestRows.open(path.parent, entry)
    with pytest.raises(RestRowsError, match="cannot read"):
        RestRows.open(path.parent, replace(entry, record_bytes=48))
    path.unlink()
    with pytest.raises(RestRowsError, match="model-cpu.rest is missing: re-export"):
        RestRows.open(path.parent, entry)


def test_conteur_json_rest_entry_is_read_and_checked(table):
    entry = table[3]
    graph = {
        "model": "model-cpu.onnx",
        "data": ["model-cpu.onnx.data"],
        "data_chunks": {"model-cpu.onnx.data": [0]},
        "head": {"kept": 10, "of": 30, "rule": "story shortlist"},
        "session": {"graph_optimization": "disabled", "execution_mode": "parallel",
                    "inter_op_threads": 1},
        "kv_cache": "float16",
    }  # fmt: skip
    plain = {**graph, "model": "model.onnx", "data": ["model.onnx.data"],
             "data_chunks": {"model.onnx.data": [0]}, "kv_cache": "float32"}  # fmt: skip
    rest = RestLayout(rows=4, width=WIDTH, block=BLOCK).to_json("model-cpu.rest")
    graphs = read_graphs({"graphs": {"webgpu": plain, "wasm": {**graph, "rest": rest}}})
    assert graphs["wasm"].rest == entry and graphs["webgpu"].rest is None
    assert graphs["wasm"].files == ("model-cpu.onnx", "model-cpu.onnx.data", "model-cpu.rest")
    with pytest.raises(ConfigError, match="rest.rows must be a positive integer"):
        read_graphs({"graphs": {"webgpu": plain, "wasm": {**graph, "rest": {**rest, "rows": 0}}}})
