"""js/shared/lockstep-tee.js in Node: the service worker's split of one download.

Each case is a small script over an in-memory source that counts how often it was
read; the browser path (page and store from one download) runs in
tests/e2e/test_downloads.py and tests/e2e/test_faults_downloads.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.node_script import run_node

MODULE = Path(__file__).resolve().parent.parent / "web/static/js/shared/lockstep-tee.js"

PRELUDE = """
import %(module)s;  // a classic script: it defines globalThis.lockstepTee
const { lockstepTee } = globalThis;
const CHUNKS = 20;
function source({ failAt = -1 } = {}) {
  const state = { reads: 0, cancelled: null };
  const stream = new ReadableStream({
    pull(controller) {
      if (state.reads === failAt) return controller.error(new Error("the network broke"));
      if (state.reads === CHUNKS) return controller.close();
      controller.enqueue(new Uint8Array(1000).fill(state.reads));
      state.reads += 1;
    },
    cancel(reason) { state.cancelled = String(reason?.message ?? reason); },
  }, { highWaterMark: 0 });
  return { stream, state };
}
async function drain(stream) {
  const seen = [];
  for await (const chunk of stream) seen.push(chunk[0]);
  return seen;
}
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** The next read of `reader` if it ends within `ms`, else "pending". */
function within(reader, ms) {
  return Promise.race([reader.read().then(({ value, done }) => (done ? "done" : value[0])), pause(ms).then(() => "pending")]);
}
"""


def run(body: str) -> dict:
    return run_node(PRELUDE % {"module": json.dumps(MODULE.as_uri())} + body)


def test_both_branches_get_every_chunk_in_order():
    out = run("""
const { stream, state } = source();
const { branches } = lockstepTee(stream);
const [a, b] = await Promise.all(branches.map(drain));
console.log(JSON.stringify({ a, b, reads: state.reads }));
""")
    assert out["a"] == list(range(20)) and out["b"] == list(range(20))
    assert out["reads"] == 20


def test_the_faster_reader_waits_for_the_slower_one():
    out = run("""
const { stream, state } = source();
const { branches: [fast, slow] } = lockstepTee(stream);
const fastReader = fast.getReader();
const slowReader = slow.getReader();
const first = await within(fastReader, 200);
const blocked = await within(fastReader, 200);  // the slow branch has not taken chunk 0
const readsWhileBlocked = state.reads;
const slowFirst = await within(slowReader, 200);
// ReadableStream.tee() on the same source lets the fast branch run to the end.
const other = source();
const [teeFast] = other.stream.tee();
const teeSeen = await drain(teeFast);
console.log(JSON.stringify({ first, blocked, readsWhileBlocked, slowFirst, teeSeen: teeSeen.length }));
""")
    assert out["first"] == 0
    assert out["blocked"] == "pending"
    assert out["readsWhileBlocked"] == 1  # nothing was read ahead for the fast branch
    assert out["slowFirst"] == 0
    assert out["teeSeen"] == 20  # what the split prevents: a queue as long as the file


def test_a_cancelled_branch_lets_the_other_go_on_alone():
    out = run("""
const { stream, state } = source();
const { branches: [page, store] } = lockstepTee(stream);
const pageReader = page.getReader();
await pageReader.read();
await pageReader.cancel("the page reloaded");
const stored = await drain(store);
const afterOne = state.cancelled;
console.log(JSON.stringify({ stored, afterOne }));
""")
    assert out["stored"] == list(range(20))
    assert out["afterOne"] is None  # the source goes on for the store


def test_cancelling_both_branches_cancels_the_source():
    out = run("""
const { stream, state } = source();
const { branches: [a, b] } = lockstepTee(stream);
await a.cancel("gone");
await b.cancel("gone too");
console.log(JSON.stringify({ cancelled: state.cancelled, reads: state.reads }));
""")
    assert out == {"cancelled": "gone too", "reads": 0}


def test_a_branch_let_go_no_longer_holds_the_other_back():
    out = run("""
const { stream } = source();
const { branches: [store, page], letGo } = lockstepTee(stream);
const storeReader = store.getReader();
await storeReader.read();  // the store took one chunk, then gave up without cancelling
const pageReader = page.getReader();
await pageReader.read();
await pageReader.read();  // chunk 1: the store has taken everything before it
const waiting = pageReader.read();  // chunk 2 waits for the store to take chunk 1
const held = await Promise.race([waiting.then(() => "read"), pause(200).then(() => "pending")]);
letGo(0);
const rest = [(await waiting).value[0]];
for (let r = await pageReader.read(); !r.done; r = await pageReader.read()) rest.push(r.value[0]);
console.log(JSON.stringify({ held, rest }));
""")
    assert out["held"] == "pending"
    assert out["rest"] == list(range(2, 20))


def test_a_source_error_reaches_both_branches():
    out = run("""
const { stream } = source({ failAt: 5 });
const { branches } = lockstepTee(stream);
const outcomes = await Promise.all(branches.map((b) => drain(b).then(
  (seen) => `ended after ${seen.length}`, (error) => String(error.message))));
console.log(JSON.stringify({ outcomes }));
""")
    assert out["outcomes"] == ["the network broke", "the network broke"]
