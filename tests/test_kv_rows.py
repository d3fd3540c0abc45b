"""The page's runner keeping the CPU graph's KV cache itself (js/worker/kv-rows.js).

Instead of fetching every present.* tensor at every step, the runner appends the
step's own rows (new_key_values.*) and feeds back what the graph's presents would
hold. These tests run the page's OrtRunner in Node on the tiny model's CPU graph with
real onnxruntime-web: token by token, far past the sliding window, it must give the
one pass's candidates bit for bit, and a snapshot must bring back the same state.
"""

from __future__ import annotations

import json

from tests.test_model_bytes import module, run_node


def test_rows_keep_the_window_and_states_stay_as_they_were():
    script = f"""
    import {{ KvRows }} from {module("kv-rows.js")};
    const row = (i) => Uint16Array.from([i, i + 1000]);  // rows of 2 numbers
    const rows = (from, to) => {{
      const out = new Uint16Array(2 * (to - from));
      for (let i = from; i < to; i++) out.set(row(i), 2 * (i - from));
      return out;
    }};
    const seen = (kv) => Array.from(kv.view().filter((_, k) => k % 2 === 0));
    const sliding = new KvRows(Uint16Array, 2, 5);
    const global = new KvRows(Uint16Array, 2, Infinity);
    const views = [];
    let at = 0;
    for (const added of [3, 1, 1, 4, 1, 7, 1, 1, 60, 1]) {{
      sliding.append(rows(at, at + added));
      global.append(rows(at, at + added));
      at += added;
      views.push({{ sliding: seen(sliding), globalCount: global.count, globalFirst: seen(global)[0] }});
    }}
    const state = sliding.state();  // no copy: the buffer and the rows it holds
    const before = seen(sliding);
    sliding.append(rows(at, at + 1));  // the cache goes on in place, past the state
    const branch = new KvRows(Uint16Array, 2, 5, state);
    branch.append(rows(500, 502));  // another branch from the same state: a buffer of its own
    const other = new KvRows(Uint16Array, 2, 5, state);
    other.append(rows(600, 601));
    // A view of another type (Chromium's Float16Array for float16) is read as raw bits.
    const bytes = new KvRows(Uint16Array, 2, Infinity);
    bytes.append(new Uint8Array(rows(7, 9).buffer));
    let refused = "";
    try {{ sliding.append(new Uint16Array(3)); }} catch (error) {{ refused = error.message; }}
    console.log(JSON.stringify({{ views, at, before, state: seen(new KvRows(Uint16Array, 2, 5, state)),
      live: seen(sliding), branch: seen(branch), other: seen(other),
      sharesBuffer: state.data === sliding.data, branchOwn: branch.data !== state.data,
      fromBytes: Array.from(bytes.view()), refused }}));
    """
    got = run_node(script)
    ends = [3, 4, 5, 9, 10, 17, 18, 19, 79, 80]
    for view, end in zip(got["views"], ends):
        assert view["sliding"] == list(range(max(0, end - 5), end))
        assert (view["globalCount"], view["globalFirst"]) == (end, 0)
    assert got["before"] == got["state"] == [75, 76, 77, 78, 79]  # the state came back whole
    assert got["live"] == [76, 77, 78, 79, 80]  # the branches did not write into the cache
    assert got["branch"] == [77, 78, 79, 500, 501]  # the state's last 3 rows, then the branch's
    assert got["other"] == [76, 77, 78, 79, 600]  # nor into each other
    assert got["sharesBuffer"] and got["branchOwn"]  # a state is not a copy; a branch moves
    assert got["fromBytes"] == [7, 1007, 8, 1008]
    assert "not whole rows" in got["refused"]


def session_script(model_dir) -> str:
    """The start of a Node script: onnxruntime-web, the page's OrtRunner, and a session of
    the model's CPU graph (`ort`, `config`, `graph`, `session`)."""
    graph = json.loads((model_dir / "conteur.json").read_text())["graphs"]["wasm"]
    (data,) = graph["data"]
    return f"""
    import * as ort from "onnxruntime-web/wasm";
    import {{ readFileSync }} from "node:fs";
    import {{ modelConfig }} from {module("../shared/model-config.js")};
    import {{ OrtRunner }} from {module("ort-runner.js")};
    ort.env.wasm.numThreads = 1;
    const dir = {json.dumps(str(model_dir))};
    const config = modelConfig(readFileSync(`${{dir}}/conteur.json`, "utf8"));
    const graph = config.graphs.wasm;
    const session = await ort.InferenceSession.create(readFileSync(`${{dir}}/{graph["model"]}`), {{
      executionProviders: ["wasm"], graphOptimizationLevel: "disabled",
      externalData: [{{ path: "{data}", data: new Uint8Array(readFileSync(`${{dir}}/{data}`)) }}],
    }});
"""


def test_runner_keeping_the_cache_equals_the_one_pass(tiny_model_dir):
    """Token by token past the 8-token window, then a snapshot restored: the candidates
    are the one pass's to the bit, and no present.* is fetched."""
    script = (
        session_script(tiny_model_dir)
        + """
    const runner = new OrtRunner(ort, session, config, graph.kvCache, 4);
    const plain = (c) => ({ ids: Array.from(c.ids), scores: Array.from(c.scores) });
    const ids = [2, 5, 9, 17, 33, 8, 71, 4, 12, 90, 3, 44, 19, 7, 250, 61, 38, 99, 6, 140, 23, 11];
    await runner.reset();
    let last = await runner.step(Int32Array.from(ids.slice(0, 3)));
    let snapshot = null, atSnapshot = null;
    const stepped = [];
    for (let i = 3; i < ids.length; i++) {
      if (i === 12) { snapshot = runner.snapshot(); atSnapshot = runner.position; }
      last = await runner.step(Int32Array.of(ids[i]));
      stepped.push(plain(last));
    }
    const kept = runner.rows.map((rows) => rows.count);
    runner.restore(snapshot);
    const restoredAt = runner.position;
    const again = [];
    for (let i = 12; i < ids.length; i++) again.push(plain(await runner.step(Int32Array.of(ids[i]))));
    runner.forget(snapshot);
    const whole = new OrtRunner(ort, session, config, graph.kvCache, Infinity);
    await whole.reset();
    const onePass = plain(await whole.step(Int32Array.from(ids)));
    console.log(JSON.stringify({ stepped, again, onePass, kept, atSnapshot, restoredAt,
      fetches: runner.fetches, keptRows: runner.keptRows, window: config.slidingWindow }));
    """
    )
    got = run_node(script)
    assert got["onePass"] == got["stepped"][-1]  # bit for bit: the same float32 scores
    assert got["again"] == got["stepped"][12 - 3 :]  # the snapshot's state came back whole
    assert got["atSnapshot"] == got["restoredAt"] == 12
    assert not any(name.startswith("present.") for name in got["fetches"])
    window = got["window"] - 1
    assert sorted(set(got["keptRows"]), key=str) == [window, None]  # Infinity is null in JSON
    assert set(got["kept"]) == {window, 22}  # 22 tokens: the window's 7 rows on sliding layers


def test_two_branches_from_one_snapshot_keep_their_own_rows(tiny_model_dir):
    """Best-of's pattern: two sentences drawn from one snapshot, then the first one kept.
    Going on from it gives the candidates of a runner that only ever wrote that sentence."""
    script = (
        session_script(tiny_model_dir)
        + """
    const plain = (c) => ({ ids: Array.from(c.ids), scores: Array.from(c.scores) });
    const feed = async (runner, ids) => {
      let last = null;
      for (const id of ids) last = await runner.step(Int32Array.of(id));
      return plain(last);
    };
    const prompt = [2, 5, 9, 17, 33, 8], first = [71, 4, 12, 90, 3], second = [44, 19, 7, 250, 61];
    const rest = [38, 99, 6, 140];
    const runner = new OrtRunner(ort, session, config, graph.kvCache, 4);
    await runner.reset();
    await runner.step(Int32Array.from(prompt));
    const start = runner.snapshot();
    await feed(runner, first);
    const afterFirst = runner.snapshot();
    runner.restore(start);
    await feed(runner, second);
    const afterSecond = runner.snapshot();
    runner.restore(afterFirst);
    for (const id of [start, afterFirst, afterSecond]) runner.forget(id);
    const kept = await feed(runner, rest);
    const straight = new OrtRunner(ort, session, config, graph.kvCache, 4);
    await straight.reset();
    await straight.step(Int32Array.from(prompt));
    await feed(straight, first);
    console.log(JSON.stringify({ kept, straight: await feed(straight, rest) }));
    """
    )
    got = run_node(script)
    assert got["kept"] == got["straight"]  # bit for bit: the second branch wrote nothing of it
