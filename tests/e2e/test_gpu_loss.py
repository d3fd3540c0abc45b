"""The WebGPU device going away, and a self-check that never ended (worker/gpu-loss.js).

On SwiftShader, the test destroys onnxruntime-web's own device (`ort.env.webgpu.device`,
reached by importing the same module inside the worker) while a story streams: the
page must say so, move to WASM and write the same story again from the same seed,
which is exactly the story the WASM page writes with that seed. A self-check that
began and never ended leaves a "pending" verdict: the next start goes to WASM.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser

VERDICTS = "conteur-webgpu-verdicts"
STORY = {"max_new_tokens": "200", "temperature": "1", "seed": "7"}
DESTROY_DEVICE = """async () => {
  const ort = await import(new URL("../../vendor/ort/ort.webgpu.min.mjs", self.location).href);
  const device = ort.env.webgpu.device;
  device.destroy();
  return (await device.lost).reason;
}"""


def verdicts(page) -> dict:
    return json.loads(page.page.evaluate(f"localStorage.getItem('{VERDICTS}') ?? '{{}}'"))


def test_a_lost_gpu_mid_story_moves_to_wasm_and_writes_the_story_again(
    browser, new_page, origin, tiny_site, tiny_wasm
):
    expected = tiny_wasm.write("Once upon a time", STORY)  # the same story, written on WASM
    page = new_page(browser, f"{origin}/tiny/?backend=webgpu")
    page.assert_ready()
    assert page.backend() == "webgpu"

    page.fill("Once upon a time")
    page.settings(**STORY)
    before = page.click_generate()
    page.wait_streamed(5)
    assert page.engine().evaluate(DESTROY_DEVICE) == "destroyed"
    last = page.wait_finished(before)

    # What the reader sees: the GPU is gone, the model runs on the CPU, the story is whole.
    assert page.hook("restarts") == 1
    assert page.backend() == "wasm" and "WebGPU unavailable" in page.backend_text()
    notice = page.hook("backend.notice")
    assert notice.startswith(
        "The graphics card stopped working (the WebGPU device was lost: destroyed)"
    ), notice
    assert page.state() == "ready" and "Finished" in page.status_text()
    assert last["ids"] == expected["ids"] and last["seed"] == "7"
    assert page.story_text() == last["prompt"] + last["text"]  # nothing left of the first try

    # What is kept: the story as written on WASM, with its seed.
    (kept,) = page.saved_stories()
    assert kept["backend"] == "wasm" and kept["seed"] == "7" and kept["ids"] == last["ids"]
    assert kept["text"] == page.story_text() and kept["stopReason"] == last["stop_reason"]

    # It goes on writing on WASM, without another restart.
    again = page.write("Once upon a time", {"max_new_tokens": "6", "seed": "2"})
    assert len(again["ids"]) == 6 or again["stop_reason"] == "eos"
    assert page.hook("restarts") == 1 and len(page.saved_stories()) == 2


def test_a_self_check_that_never_ended_is_not_run_again_on_its_own(
    browser, new_page, origin, tiny_site
):
    page = new_page(browser, f"{origin}/tiny/?backend=webgpu", wait_ready=False)
    # "pending" is saved before the check runs, and replaced by its outcome.
    page.page.wait_for_function(
        f"Object.values(JSON.parse(localStorage.getItem('{VERDICTS}') ?? '{{}}'))"
        ".some((v) => v.status === 'pending')",
        polling=50,
        timeout=180_000,
    )
    page.wait_loaded()
    page.assert_ready()
    key = page.hook("selfCheck.key")
    assert page.hook("selfCheck.status") == "passed" and key not in verdicts(page)

    # A visit where the check never ended (the GPU hung, the tab was killed) left "pending".
    page.page.evaluate(
        f"""([key]) => {{
          localStorage.setItem('{VERDICTS}', JSON.stringify({{[key]: {{status: 'pending'}}}}));
          localStorage.setItem('conteur-backend', 'webgpu');
        }}""",
        [key],
    )
    page.page.goto(f"{origin}/tiny/")
    page.wait_loaded()
    page.assert_ready()
    assert page.backend() == "wasm"
    assert page.page.get_attribute('[data-testid="backend"]', "data-check") == "failed"
    assert page.hook("selfCheck") is None  # not run again
    notice = page.hook("backend.notice")
    assert "did not finish Conteur's self-check on an earlier visit" in notice, notice
    assert verdicts(page)[key]["status"] == "pending"

    # Asking for WebGPU in the URL checks again; passing clears the verdict.
    page.page.goto(f"{origin}/tiny/?backend=webgpu")
    page.wait_loaded()
    assert page.hook("selfCheck.status") == "passed" and page.backend() == "webgpu"
    assert key not in verdicts(page)
