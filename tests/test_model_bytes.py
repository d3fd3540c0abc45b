"""How the page holds downloaded model files, run by Node.

- web/static/js/shared/sha256.js (hash-wasm, vendored by web/build.py) hashes a file
  piece by piece as it streams in; it must give hashlib's digest however the bytes
  are split.
- web/static/js/worker/chunked-file.js holds a graph data file as chunks that onnxruntime
  copies out tensor by tensor; each chunk goes once every byte in it was handed
  over, and a real onnxruntime-web session opened from it computes what one
  opened from the plain bytes computes.
- web/static/js/worker/byte-pieces.js reads a download's byte stream into one reused
  buffer, and any other stream with a plain reader; the bytes are the same either way.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil

import onnx
import pytest

from tests.conftest import ROOT
from tests.node_script import run_node
from web.build import HASH_WASM, NODE_MODULES

JS = ROOT / "web" / "static" / "js" / "worker"
MIB = 1024 * 1024


def module(name: str) -> str:
    return json.dumps((JS / name).as_uri())


@pytest.fixture(scope="module")
def sha256_module(tmp_path_factory) -> str:
    """Imports defining createSha256 as the worker does: hash-wasm's build, then js/shared/sha256.js.

    hash-wasm's build is copied beside a package.json saying "module": Node then reads
    it as the browser's module worker does (a script defining globalThis.hashwasm), not
    as CommonJS.
    """
    vendor = tmp_path_factory.mktemp("vendor")
    (vendor / "package.json").write_text('{"type": "module"}')
    shutil.copy(NODE_MODULES / HASH_WASM[0], vendor / "hash-wasm.js")
    hash_wasm = json.dumps((vendor / "hash-wasm.js").as_uri())
    wrapper = json.dumps((ROOT / "web" / "static" / "js" / "shared" / "sha256.js").as_uri())
    return f"import {hash_wasm}; import {wrapper}; const {{ createSha256 }} = globalThis;"


@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 3 * MIB + 7])
def test_sha256_matches_hashlib_however_the_bytes_arrive(sha256_module, size):
    script = f"""
    {sha256_module}
    import {{ createHash }} from "node:crypto";
    let seed = {size} + 1;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    const bytes = new Uint8Array({size}).map(() => next() % 256);
    const pieces = await createSha256();
    for (let at = 0; at < bytes.length; ) {{
      const count = 1 + (next() % 70000);
      pieces.update(bytes.subarray(at, at + count));
      at += count;
    }}
    const whole = await createSha256();
    whole.update(bytes);
    const python = createHash("sha256").update(bytes).digest("hex");
    console.log(JSON.stringify({{ whole: whole.hex(), pieces: pieces.hex(), python }}));
    """
    got = run_node(script)
    assert got["whole"] == got["pieces"] == got["python"]


def test_sha256_of_known_text(sha256_module):
    text = "Once upon a time"
    got = run_node(
        f"{sha256_module}"
        "const hasher = await createSha256();"
        f"hasher.update(new TextEncoder().encode({json.dumps(text)}));"
        "console.log(JSON.stringify(hasher.hex()));"
    )
    assert got == hashlib.sha256(text.encode()).hexdigest()


def test_chunked_file_hands_out_every_byte_once_and_lets_each_chunk_go():
    size = 9 * MIB + 12345  # three chunks, the last one short
    cuts = sorted(random.Random(7).sample(range(1, size), 40))
    ranges = list(zip([0, *cuts], [*cuts, size]))
    random.Random(8).shuffle(ranges)  # onnxruntime asks in no particular order
    script = f"""
    import {{ ChunkedFile }} from {module("chunked-file.js")};
    const size = {size};
    const original = new Uint8Array(size).map((_, i) => (i * 7 + (i >> 11)) % 251);
    const file = new ChunkedFile(size, {json.dumps([0, 4 * MIB, 8 * MIB])});
    for (let at = 0; at < size; at += 65521) file.write(original.subarray(at, at + 65521), at);
    const isUint8Array = file instanceof Uint8Array;
    let equal = true;
    const releasedAfter = [];
    for (const [start, end] of {json.dumps(ranges)}) {{
      const got = file.subarray(start, end);
      const want = original.subarray(start, end);
      equal &&= got.length === want.length && got.every((b, i) => b === want[i]);
      releasedAfter.push(file.released);
    }}
    file.subarray(0, 0);  // the next call frees what the last one finished
    let second = "";
    try {{ file.subarray(0, 10); }} catch (error) {{ second = error.message; }}
    console.log(JSON.stringify({{
      isUint8Array, byteLength: file.byteLength, chunks: file.chunks.length, equal,
      releasedAfter, released: file.released, handedOver: file.handedOver, second,
    }}));
    """
    got = run_node(script)
    assert got["isUint8Array"] and got["byteLength"] == size and got["equal"]
    assert got["chunks"] == 3 and got["released"] == 3 and got["handedOver"]
    assert got["releasedAfter"][0] == 0  # nothing goes before onnxruntime asked for it
    assert got["releasedAfter"] == sorted(got["releasedAfter"])  # chunks leave one by one
    assert "asked for twice" in got["second"]


PIECES_SCRIPT = """
import {{ piecesOf }} from {module};
const size = {size};
const source = new Uint8Array(size).map((_, i) => (i * 13 + (i >> 9)) % 251);
let seed = 5;
const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
let at = 0;
const asked = [];  // what each pull of the byte stream was given to fill
const bytes = () => new ReadableStream({{
  type: "bytes",
  pull(controller) {{
    if (at >= size) {{
      controller.close();
      return controller.byobRequest?.respond(0);  // a pending BYOB read ends: done
    }}
    const request = controller.byobRequest;
    asked.push(request ? request.view.byteLength : 0);
    const count = Math.min(size - at, 1 + (next() % 90000));
    if (request) {{
      const n = Math.min(count, request.view.byteLength);
      request.view.set(source.subarray(at, at + n));
      request.respond(n);
      at += n;
    }} else {{
      controller.enqueue(source.slice(at, at + count));
      at += count;
    }}
  }},
}});
const plain = () => new ReadableStream({{
  pull(controller) {{
    if (at >= size) return controller.close();
    const count = Math.min(size - at, 1 + (next() % 90000));
    controller.enqueue(source.slice(at, at + count));
    at += count;
  }},
}});
const body = {{ bytes, plain }}[{kind}]();
const reader = piecesOf(body, {{ download: {download} }});
const out = new Uint8Array(size);
let filled = 0;
let pieces = 0;
for (;;) {{
  const {{ done, value }} = await reader.read();
  if (done) break;
  out.set(value, filled);
  filled += value.length;
  pieces += 1;
}}
const equal = filled === size && out.every((b, i) => b === source[i]);
console.log(JSON.stringify({{ reused: reader.reused, equal, pieces, asked }}));
"""


@pytest.mark.parametrize(
    ("kind", "download", "reused"),
    [("bytes", True, True), ("bytes", False, False), ("plain", True, False)],
)
def test_byte_pieces_give_every_byte_in_order_whichever_reader(kind, download, reused):
    size = 3 * MIB + 777
    script = PIECES_SCRIPT.format(
        module=module("byte-pieces.js"),
        size=size,
        kind=json.dumps(kind),
        download=json.dumps(download),
    )
    got = run_node(script)
    assert got["equal"] and got["pieces"] > 30
    assert got["reused"] is reused
    if reused:  # every piece was read into the reader's own 1 MiB buffer
        assert got["asked"] and set(got["asked"]) == {MIB}
    elif kind == "bytes":  # a plain reader of a byte stream brings no buffer
        assert set(got["asked"]) == {0}


def test_a_session_opened_from_a_chunked_file_computes_the_same(tiny_model_dir):
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    graph = config["graphs"]["wasm"]
    (data,) = graph["data"]
    script = f"""
    import * as ort from "onnxruntime-web/wasm";
    import {{ readFileSync }} from "node:fs";
    import {{ ChunkedFile }} from {module("chunked-file.js")};
    ort.env.wasm.numThreads = 1;
    const dir = {json.dumps(str(tiny_model_dir))};
    const bytes = new Uint8Array(readFileSync(`${{dir}}/{data}`));
    const chunked = new ChunkedFile(bytes.length, {json.dumps(graph["data_chunks"][data])});
    chunked.write(bytes, 0);
    const layers = {config["architecture"]["num_layers"]};
    const kvHeads = {config["architecture"]["num_kv_heads"]};
    const headDim = {config["architecture"]["head_dim"]};
    const kvCache = "{graph["kv_cache"]}";
    async function topCandidates(data) {{
      const session = await ort.InferenceSession.create(readFileSync(`${{dir}}/{graph["model"]}`), {{
        executionProviders: ["wasm"], graphOptimizationLevel: "disabled",
        externalData: [{{ path: "{data}", data }}],
      }});
      const feeds = {{
        input_ids: new ort.Tensor("int64", BigInt64Array.from([2n, 5n, 9n, 17n]), [1, 4]),
        num_logits_to_keep: new ort.Tensor("int64", BigInt64Array.from([1n]), []),
      }};
      for (let i = 0; i < layers; i++) for (const k of ["key", "value"]) {{
        feeds[`past_key_values.${{i}}.${{k}}`] = new ort.Tensor(kvCache, kvCache === "float16" ? new Uint16Array(0) : new Float32Array(0), [1, kvHeads, 0, headDim]);
      }}
      const out = await session.run(feeds);
      await session.release();
      return {{ ids: Array.from(out.top_ids.data.slice(0, 8), Number), values: Array.from(out.top_values.data.slice(0, 8)) }};
    }}
    const plain = await topCandidates(bytes);
    const fromChunks = await topCandidates(chunked);
    console.log(JSON.stringify({{ plain, fromChunks, handedOver: chunked.handedOver }}));
    """
    got = run_node(script)
    assert got["handedOver"]  # onnxruntime really read through the ChunkedFile
    assert got["fromChunks"] == got["plain"]
    assert len(set(got["plain"]["ids"])) == 8


def test_chunked_file_cut_at_given_boundaries_frees_each_chunk_with_its_tensors():
    starts = [0, 1000, 5000, 9000]  # tensors: [0, 1000), [1000, 5000), [5000, 9000), [9000, 9500)
    script = f"""
    import {{ ChunkedFile }} from {module("chunked-file.js")};
    const original = new Uint8Array(9500).map((_, i) => (i * 13) % 256);
    const file = new ChunkedFile(9500, {json.dumps(starts)});
    file.write(original.subarray(0, 3000), 0);
    file.write(original.subarray(3000), 3000);
    const released = [];
    let equal = true;
    for (const [start, end] of [[5000, 9000], [0, 1000], [9000, 9500], [1000, 5000]]) {{
      const got = file.subarray(start, end);
      equal &&= got.every((b, i) => b === original[start + i]);
      released.push(file.released);
    }}
    file.subarray(0, 0);
    let refused = "";
    try {{ new ChunkedFile(9500, [5, 10]); }} catch (error) {{ refused = error.message; }}
    console.log(JSON.stringify({{ chunks: file.chunks.length, equal, released, final: file.released, refused }}));
    """
    got = run_node(script)
    assert got["chunks"] == 4 and got["equal"]
    # Each chunk goes at the call after its tensor was handed over, in onnxruntime's order.
    assert got["released"] == [0, 1, 2, 3] and got["final"] == 4
    assert got["refused"] == "chunk starts must begin at 0"


def test_exported_chunks_start_at_tensor_boundaries(tiny_model_dir):
    """conteur.json `data_chunks` cut each data file where a tensor starts, from 0 to its end."""
    config = json.loads((tiny_model_dir / "conteur.json").read_text())
    for kind, graph in config["graphs"].items():
        proto = onnx.load(str(tiny_model_dir / graph["model"]), load_external_data=False)
        spans = []
        for tensor in proto.graph.initializer:
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                fields = {e.key: e.value for e in tensor.external_data}
                spans.append((int(fields.get("offset", 0)), int(fields["length"])))
        spans.sort()
        (data,) = graph["data"]
        size = (tiny_model_dir / data).stat().st_size
        ends = [offset + length for offset, length in spans]
        assert [offset for offset, _ in spans] == [0, *ends[:-1]], kind  # no gaps
        assert ends[-1] == size, kind
        starts = graph["data_chunks"][data]
        assert starts[0] == 0 and starts == sorted(set(starts)), kind
        assert set(starts) <= {offset for offset, _ in spans}, kind
