"""The page/worker protocol (web/static/js/shared/protocol.js), run by Node.

Every request gets exactly one terminal reply with its id: here the real worker
module (worker/main.js) answers each kind of request before a model is loaded,
with the reply the protocol names for it; the busy reply, which needs a model,
is checked in the browser (tests/e2e/test_speed_check.py).
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import ROOT
from tests.node_script import run_node
from web.build import (
    HASH_WASM,
    NODE_MODULES,
    PYTHON_START,
    PYTHON_START_MODULE,
    write_python_start_module,
)

JS = ROOT / "web" / "static" / "js"


def module(*parts: str, js=JS) -> str:
    return json.dumps(js.joinpath(*parts).as_uri())


@pytest.fixture(scope="module")
def site_js(tmp_path_factory):
    """web/static/js beside the vendored hash-wasm the worker imports and the module the
    build generates for Python's start (never read: no request here starts Python), as
    the built site has them.

    The package.json makes Node read every file as a module, as the browser's module
    worker does (hash-wasm's build is a script that defines globalThis.hashwasm).
    """
    static = tmp_path_factory.mktemp("static")
    shutil.copytree(JS, static / "js")
    (static / HASH_WASM[1]).parent.mkdir(parents=True)
    shutil.copy(NODE_MODULES / HASH_WASM[0], static / HASH_WASM[1])
    (static / "package.json").write_text('{"type": "module"}')
    no_snapshot = {"url": PYTHON_START, "bytes": 0, "sha256": ""}
    write_python_start_module(static / PYTHON_START_MODULE, no_snapshot)
    return static / "js"


def test_every_request_has_its_terminal_replies():
    got = run_node(f"""
    import * as p from {module("shared", "protocol.js")};
    const error = {{ name: "X", message: "x", fatal: false, detail: "", key: "", params: {{}} }};
    console.log(JSON.stringify({{
      requests: Object.values(p.REQUEST), endsWith: p.ENDS_WITH,
      events: Object.values(p.EVENT), replies: Object.values(p.REPLY),
      failures: Object.values(p.REQUEST).map((type) => p.failureReply({{ type, id: 7 }}, error).type),
      terminal: [...Object.values(p.REPLY), ...Object.values(p.EVENT)].map((type) => p.isTerminal({{ type }})),
    }}));
    """)
    assert sorted(got["endsWith"]) == sorted(got["requests"])
    assert not set(got["events"]) & set(got["replies"])
    assert got["failures"] == ["error", "error", "reply", "reply", "reply", "reply"]
    assert got["terminal"] == [True] * len(got["replies"]) + [False] * len(got["events"])


def test_the_worker_answers_every_request_before_the_model_loads(site_js):
    """Each request, sent to the real worker module, ends with one reply of its kind."""
    got = run_node(f"""
    const posted = [];
    globalThis.self = {{ postMessage: (message) => posted.push(message) }};
    await import({module("worker", "main.js", js=site_js)});
    const send = (message) => self.onmessage({{ data: message }});
    send({{ type: "generate", id: 1, request: {{ text: "Hi" }}, settings: {{}} }});
    send({{ type: "speed-check", id: 2 }});
    send({{ type: "stop", id: 3 }});
    send({{ type: "memory", id: 4 }});
    send({{ type: "surprise", id: 5, language: "en", length: "short" }});
    send({{ type: "unknown", id: 6 }});
    await new Promise((resolve) => setTimeout(resolve, 200));
    console.log(JSON.stringify(posted));
    """)
    by_id = {}
    for message in got:
        by_id.setdefault(message["id"], []).append(message)
    assert sorted(by_id) == [1, 2, 3, 4, 5, 6]
    assert all(len(messages) == 1 for messages in by_id.values()), by_id  # exactly one each
    story, speed, stop, memory, surprise, unknown = (by_id[i][0] for i in range(1, 7))
    assert story["type"] == "error" and story["error"]["name"] == "GenerationError"
    assert "not loaded" in story["error"]["detail"] and story["error"]["fatal"] is False
    assert speed["type"] == "reply" and speed["error"]["name"] == "SpeedCheckError"
    assert stop == {"type": "reply", "id": 3, "value": {"stopping": False}}
    assert memory == {
        "type": "reply",
        "id": 4,
        "value": {"python_heap_bytes": None, "kv_tokens": 0},
    }
    assert surprise["type"] == "reply" and "Python has not started" in surprise["error"]["detail"]
    assert unknown["type"] == "error" and '"unknown"' in unknown["error"]["detail"]
