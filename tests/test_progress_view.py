"""The first visit's progress bars (js/page/progress-view.js), in Node with a stand-in DOM.

Progress arrives some 30 times a second on a first visit and every redraw is a frame on
the cores that load the model, so the bars are redrawn at most every 250 ms, always with
the latest numbers, and once more when loading is done (docs/architecture.md).
"""

from __future__ import annotations

import json

from tests.node_script import run_node
from tests.test_model_bytes import JS

PAGE_MODULE = json.dumps((JS.parent / "page" / "progress-view.js").as_uri())

STAND_IN_DOM = """
class Element {
  constructor(tag) { this.tag = tag; this.dataset = {}; this.attributes = {}; this.children = []; this.hidden = true; this.textContent = ""; }
  setAttribute(name, value) { this.attributes[name] = value; }
  removeAttribute(name) { delete this.attributes[name]; }
  append(...children) { this.children.push(...children); }
  insertBefore(child) { this.children.push(child); }
}
class Bar extends Element {
  constructor() { super("progress"); this.drawn = []; this.max = 0; }
  set value(v) { this.drawn.push(v); }
}
const box = new Element("div");
const list = new Element("ul");
const doc = {
  getElementById: (id) => ({ progress: box, "progress-files": list })[id],
  createElement: (tag) => (tag === "progress" ? new Bar() : new Element(tag)),
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
"""


def test_bars_are_redrawn_at_most_every_250_ms_with_the_latest_numbers():
    script = f"""
    import {{ ProgressView }} from {PAGE_MODULE};
    {STAND_IN_DOM}
    const view = new ProgressView(doc);
    const file = "models/gemma/model-cpu.onnx.data";
    const total = 100e6;
    for (let i = 1; i <= 50; i++) view.update({{ file, loaded: i * 1e6, total }});
    const bar = list.children[0].children[2];
    const out = {{ synchronously: [...bar.drawn], hiddenAtFirst: box.hidden }};
    await sleep(50);
    out.first = [...bar.drawn];
    out.shown = !box.hidden;
    for (let i = 51; i <= 60; i++) view.update({{ file, loaded: i * 1e6, total }});
    await sleep(100);
    out.within250 = [...bar.drawn];
    await sleep(500);
    out.after250 = [...bar.drawn];
    view.update({{ file, loaded: total, total }});
    view.done();
    out.done = [...bar.drawn];
    out.hiddenWhenDone = box.hidden;
    await sleep(400);
    out.later = [...bar.drawn];
    out.text = list.children[0].children[1].textContent;
    console.log(JSON.stringify(out));
    """
    out = run_node(script)
    assert out["synchronously"] == [] and out["hiddenAtFirst"] is True
    assert out["first"] == [50e6] and out["shown"] is True  # one redraw, the latest numbers
    assert out["within250"] == [50e6]  # the next reports wait for the interval
    assert out["after250"] == [50e6, 60e6]  # then one redraw with the latest
    assert out["done"] == [50e6, 60e6, 100e6] and out["hiddenWhenDone"] is True
    assert out["later"] == out["done"]  # nothing left pending after done()
    assert out["text"] == "100.0 MB / 100.0 MB (100 %)"
