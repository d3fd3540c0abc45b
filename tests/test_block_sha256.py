"""js/shared/block-sha256.js in Node: the service worker's block-by-block check.

The block sha256s come from Python's hashlib (web/block_hashes.py's rule), the bytes
reach the checker in pieces that do not line up with the blocks, and every case is
asserted against what the file really holds: the same bytes pass, a single changed,
missing or extra byte fails. The browser path (the service worker storing a file only
after its blocks matched) runs in tests/e2e/test_faults_downloads.py.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from tests.node_script import run_node

MODULE = Path(__file__).resolve().parent.parent / "web/static/js/shared/block-sha256.js"
BLOCK = 1000  # small blocks: the rule is the same at 4 MiB


def blocks_of(data: bytes, size: int = BLOCK) -> list[str]:
    return [hashlib.sha256(data[i : i + size]).hexdigest() for i in range(0, len(data), size)]


def check(sent: bytes, expected: list[str], piece: int = 333, block: int = BLOCK) -> bool:
    """Feed `sent` to a checker for `expected` in pieces of `piece` bytes; its verdict."""
    script = f"""
import {json.dumps(MODULE.as_uri())};
const sent = Buffer.from({json.dumps(sent.hex())}, "hex");
const checker = globalThis.blockSha256({block}, {json.dumps(expected)});
for (let at = 0; at < sent.length; at += {piece}) checker.update(new Uint8Array(sent.subarray(at, at + {piece})));
console.log(JSON.stringify(await checker.matches()));
"""
    return run_node(script)


@pytest.fixture(scope="module")
def data() -> bytes:
    return random.Random(7).randbytes(3 * BLOCK + 457)  # three whole blocks and a short one


@pytest.mark.parametrize("piece", [1, 333, BLOCK, 4096])
def test_the_file_itself_matches_however_it_is_cut(data, piece):
    assert check(data, blocks_of(data), piece=piece) is True


def test_a_file_of_whole_blocks_matches_with_no_empty_last_block():
    data = random.Random(8).randbytes(2 * BLOCK)
    assert len(blocks_of(data)) == 2
    assert check(data, blocks_of(data)) is True


@pytest.mark.parametrize("at", [0, BLOCK - 1, BLOCK, 2 * BLOCK + 17, -1])
def test_one_changed_byte_in_any_block_fails(data, at):
    damaged = bytearray(data)
    damaged[at] ^= 0x01
    assert check(bytes(damaged), blocks_of(data)) is False


def test_a_short_file_fails(data):
    assert check(data[:-1], blocks_of(data)) is False  # the last block is short
    assert check(data[: 2 * BLOCK], blocks_of(data)) is False  # whole blocks missing


def test_a_longer_file_fails(data):
    assert check(data + b"\0", blocks_of(data)) is False
    assert check(data + data[:BLOCK], blocks_of(data)) is False  # a block more than listed


def test_blocks_in_another_order_fail(data):
    expected = blocks_of(data)
    assert check(data, [expected[1], expected[0], *expected[2:]]) is False


def test_an_empty_file_matches_an_empty_list():
    assert check(b"", []) is True
    assert check(b"", blocks_of(b"x")) is False
