"""The page's and the worker's bounds on waiting, run in Node without a browser.

page/watchdog.js (a silence limit per request, a deadline after Stop),
worker/time-limit.js with worker/self-check.js (a self-check that never ends fails
in time) and worker/gpu-loss.js (a lost device ends a pending WebGPU run at once, a
run past its limit fails, and either marks the GPU failed). The end-to-end tests
cover the same paths in Chromium where a fault can be made there (test_watchdog.py,
test_gpu_loss.py); a GPU that hangs cannot be, hence these.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.node_script import run_node

JS = Path(__file__).resolve().parents[1] / "web" / "static" / "js"


def module(path: str) -> str:
    return json.dumps((JS / path).as_uri())


def test_the_watchdog_ends_a_silent_request_and_a_stopped_story_that_never_ends():
    out = run_node(
        f"import {{ Watchdog }} from {module('page/watchdog.js')};"
        "const sleep = (ms) => new Promise((r) => setTimeout(r, ms));"
        "const silent = [];"
        "const dog = new Watchdog((id, type, s) => silent.push([id, type]),"
        "  { init: 200, generate: 200, stop: 200 });"
        # 1: heard every 100 ms, never silent for 200 ms; 2: never heard; 3: ends in time.
        "dog.watch(1, 'generate'); dog.watch(2, 'stop'); dog.watch(3, 'generate');"
        "await sleep(100); dog.heard(1); dog.forget(3);"
        "for (let i = 0; i < 3; i++) { await sleep(100); dog.heard(1); }"
        "const afterBeats = silent.map(([id]) => id);"
        # After Stop: 1 must end within 150 ms, however often it is heard.
        "dog.deadline(1, 150);"
        "for (let i = 0; i < 4; i++) { await sleep(50); dog.heard(1); }"
        "console.log(JSON.stringify({ afterBeats, silent }));"
    )
    assert out["afterBeats"] == [2]
    assert out["silent"] == [[2, "stop"], [1, "generate"]]


def test_a_self_check_that_never_ends_fails_in_time():
    out = run_node(
        f"import {{ withinTime }} from {module('worker/time-limit.js')};"
        f"import {{ runSelfCheck }} from {module('worker/self-check.js')};"
        "const hung = { reset: async () => {}, step: () => new Promise(() => {}) };"
        "const check = { atol: 0.05, rtol: 0.005, steps: [{ feed: [2], topIds: [1], topLogits: [0] }] };"
        "const started = performance.now();"
        "let error = null;"
        "try { await withinTime(runSelfCheck(hung, check), 100, 'the WebGPU self-check'); }"
        "catch (e) { error = e; }"
        "console.log(JSON.stringify({ name: error?.name, message: error?.message,"
        "  ms: performance.now() - started }));"
    )
    assert out["name"] == "TimeLimitError"
    assert out["message"] == "the WebGPU self-check did not finish within 0.1 s"
    assert 90 <= out["ms"] < 1000


def test_a_lost_device_ends_the_pending_webgpu_run_and_every_later_one():
    out = run_node(
        f"import {{ GpuGuard }} from {module('worker/gpu-loss.js')};"
        "let lose;"
        "const lost = new Promise((r) => { lose = r; });"
        "const ort = { env: { webgpu: { device: { lost } } } };"
        "const session = { run: () => new Promise(() => {}) };"  # a step that never returns
        "const guard = new GpuGuard(ort, session, { fallback: false });"
        "const pending = session.run({}).then(() => 'answered', (e) => e.message);"
        "setTimeout(() => lose({ reason: 'destroyed', message: 'Device was destroyed.' }), 50);"
        "const first = await pending;"
        "const later = await session.run({}).then(() => 'answered', (e) => e.message);"
        "console.log(JSON.stringify({ first, later, failed: guard.failed, why: await guard.why() }));"
    )
    assert out["first"] == "the WebGPU device was lost (destroyed): Device was destroyed."
    assert out["later"] == out["first"] and out["failed"] is True
    assert out["why"] == "the WebGPU device was lost: destroyed"


def test_a_webgpu_run_past_its_limit_fails_and_a_quick_one_passes():
    out = run_node(
        f"import {{ GpuGuard }} from {module('worker/gpu-loss.js')};"
        "const ort = { env: { webgpu: { device: { lost: new Promise(() => {}) } } } };"
        "let calls = 0;"
        "const session = { run: () => (++calls === 1 ? Promise.resolve('out') : new Promise(() => {})) };"
        "const guard = new GpuGuard(ort, session, { fallback: true }, { hardware: 1e9, software: 100 });"
        "const quick = await session.run({});"
        "const quickFailed = guard.failed;"
        "const slow = await session.run({}).then(() => 'answered', (e) => e.message);"
        "console.log(JSON.stringify({ quick, quickFailed, slow, failed: guard.failed, why: await guard.why() }));"
    )
    assert out["quick"] == "out" and out["quickFailed"] is False
    assert out["slow"] == "a WebGPU step did not finish within 0.1 s"
    assert out["failed"] is True and out["why"] == out["slow"]
