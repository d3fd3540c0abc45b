"""One trial of one contender in a fresh headless Chromium.

A trial is what one user's first and second visit look like:
1. cold: a new, empty profile opens the page; we time it until the first story
   can start and count the bytes the server sent (first visit);
2. warm: the same profile opens the page again in a new tab (the runtime and
   the model now come from the page's own cache: service worker, Cache API or
   OPFS, whichever the contender uses), once the browser has let the first tab's
   memory go (`CLOSED_TAB_WAIT_S`);
3. runs, in that warm tab: a short warm-up (16 tokens in, 2 out), then the
   128-token prompt followed by greedy decoding, then the 512-token prompt
   (time to first token only).
The browser's process tree is sampled for memory throughout, and each visit's CPU
time is read per thread (bench/load_cpu.py).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.load_cpu import load_cpu, thread_times
from bench.memory import MemorySampler, find_process
from bench.prompts import Prompt
from bench.server import Traffic
from harness.chromium import CHROMIUM, CHROMIUM_ARGS  # no WebGPU flag: WASM only

LOAD_TIMEOUT_MS = 10 * 60 * 1000
WARMUP_TOKENS = 2
# Chromium opens the second visit in the renderer process of the first, which let the
# closed page's memory go 2.1-2.6 s after the close (Conteur's page, per-process PSS
# every 0.1 s): a second visit opened sooner counted both pages in its peak. The
# first tab's memory stays in the first visit's phase.
CLOSED_TAB_WAIT_S = 5.0


@dataclass
class TrialSettings:
    base_url: str  # http://127.0.0.1:PORT
    prompts: list[Prompt]  # short prompt first (decode follows it), then the long one
    warmup: Prompt  # a few tokens: pays each runtime's first-call costs before timing
    decode_tokens: int = 128
    log: object = print


@dataclass
class Trial:
    """Everything measured in one trial; `to_json` is what results.json stores."""

    contender: str
    rep: int
    cold: dict = field(default_factory=dict)
    warm: dict = field(default_factory=dict)
    runs: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    detail: dict = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict:
        return dict(self.__dict__)


def launch(playwright, profile: Path):
    # bypass_csp: Playwright's wait_for_function evaluates strings, which the site's
    # Content-Security-Policy (no 'unsafe-eval') refuses; the page itself never does.
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        bypass_csp=True,
    )  # fmt: skip


def run_trial(playwright, contender, rep: int, traffic: Traffic, settings: TrialSettings) -> Trial:
    """Cold visit, warm visit and the generation runs, in one fresh profile."""
    trial = Trial(contender.key, rep)
    profile = Path(tempfile.mkdtemp(prefix="conteur-bench-profile-"))
    sampler = MemorySampler(marker=str(profile)).start()
    context = None
    try:
        context = launch(playwright, profile)
        driver = contender.driver(settings)
        trial.cold, _ = visit(context, driver, traffic, sampler, "cold")
        trial.warm, page = visit(context, driver, traffic, sampler, "warm")
        trial.detail = trial.warm.pop("detail", {})
        cold_timings = trial.cold.pop("detail", {}).get("timings")
        if cold_timings:
            trial.detail["cold_timings"] = cold_timings  # the first visit's phases
        sampler.phase = "runs"
        driver.run(page, settings.warmup, WARMUP_TOKENS)  # first-call costs, not reported
        short, long = settings.prompts[0], settings.prompts[-1]
        trial.runs[short.name] = driver.run(page, short, settings.decode_tokens)
        if long is not short:
            trial.runs[long.name] = driver.run(page, long, 1)
        after_runs = getattr(driver, "after_runs", None)
        if after_runs is not None:
            trial.detail.update(after_runs(page))
        page.close()
        trial.detail["console"] = sorted(set(driver.errors))[:20]  # warnings, errors
    except Exception as exc:  # noqa: BLE001 (a failing contender is reported, the bench goes on)
        trial.error = f"{type(exc).__name__}: {exc}".strip()[:2000]
    finally:
        if context is not None:
            try:
                context.close()
            except Exception as exc:  # noqa: BLE001 (a crashed browser must not hide the trial)
                settings.log(f"bench: closing the browser failed: {exc}")
        sampler.stop()
        trial.memory = sampler.report()
        shutil.rmtree(profile, ignore_errors=True)
    return trial


def visit(context, driver, traffic: Traffic, sampler: MemorySampler, phase: str):
    """Open the contender's page in a new tab and wait until a story can start."""
    closing = list(context.pages)
    for old in closing:
        old.close()  # the warm visit starts from a closed tab, as a returning user does
    if any(old.url != "about:blank" for old in closing):
        time.sleep(CLOSED_TAB_WAIT_S)
    traffic.wait_idle(quiet_s=0.5)
    sampler.phase = phase
    sent_before, requests_before = traffic.snapshot()
    page = context.new_page()
    driver.watch(page)
    browser = find_process(sampler.marker)
    cpu_before = thread_times(browser)
    started = time.perf_counter()
    page.goto(driver.url, wait_until="commit")
    info = driver.wait_ready(page)
    wall_s = time.perf_counter() - started
    cpu = load_cpu(cpu_before, thread_times(browser), wall_s)
    # Count what the visit downloads even after it is usable (a service worker's precache).
    traffic.wait_idle(quiet_s=1.5)
    sent_after, requests_after = traffic.snapshot()
    return {
        "load_ms": info["load_ms"],
        "wall_s": wall_s,
        "bytes": sent_after - sent_before,
        "requests": requests_after - requests_before,
        "cpu": cpu,
        "detail": info.get("detail", {}),
    }, page


def token_metrics(prompt_tokens: int, ttft_ms: float, token_ms: list[float]) -> dict:
    """Time to first token, prefill rate, and decode rate over the tokens after the first."""
    out = {
        "prompt_tokens": prompt_tokens,
        "ttft_ms": ttft_ms,
        "prefill_tokens_per_s": prompt_tokens / (ttft_ms / 1000) if ttft_ms > 0 else None,
        "generated": len(token_ms),
    }
    if len(token_ms) > 1:
        span = (token_ms[-1] - token_ms[0]) / 1000
        out["decode_tokens_per_s"] = (len(token_ms) - 1) / span if span > 0 else None
    return out


class BenchPageDriver:
    """Pages under bench/pages/ that follow harness.js's contract."""

    def __init__(self, url: str, log=print) -> None:
        self.url = url
        self.log = log
        self.errors: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "console",
            lambda m: self.errors.append(m.text[:300]) if m.type in ("warning", "error") else None,
        )

    def wait_ready(self, page) -> dict:
        state = wait_for_bench_state(page)
        return {"load_ms": state["loadMs"], "detail": state.get("detail", {})}

    def run(self, page, prompt: Prompt, max_new_tokens: int) -> dict:
        result = page.evaluate(
            "(request) => window.bench.generate(request)",
            {"ids": prompt.ids, "text": prompt.text, "maxNewTokens": max_new_tokens},
        )
        token_ms = result["tokenMs"]
        if not token_ms:
            raise RuntimeError(f"{prompt.name}: no token came back")
        prompt_tokens = result.get("promptTokens") or len(prompt.ids)
        out = token_metrics(prompt_tokens, token_ms[0] - result["startMs"], token_ms)
        out["tokens"] = result.get("tokens")
        out["text"] = result.get("text")
        out["extra"] = result.get("extra") or {}
        return out


class ConteurPageDriver:
    """The real Conteur page (web/), driven through its form like a user.

    It reads the page's own figures from `window.conteur` (the generation stats
    pyshell computes), so Python's share of the work is included.
    """

    def __init__(self, url: str, log=print) -> None:
        self.url = url
        self.log = log
        self.errors: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def wait_ready(self, page) -> dict:
        # The predicate returns the moment it first saw the page ready (50 ms polling).
        seen = page.wait_for_function(
            "(() => { const c = window.conteur;"
            " return c && ['ready', 'error'].includes(c.state) ? performance.now() : 0; })()",
            timeout=LOAD_TIMEOUT_MS,
            polling=50,
        ).json_value()
        hook = page.evaluate(
            "({state: conteur.state, timings: conteur.timings, backend: conteur.backend,"
            " errors: conteur.errors})"
        )
        if hook["state"] != "ready":
            raise RuntimeError(f"the page did not get ready: {hook['errors']}")
        backend = hook.get("backend") or {}
        detail = {
            "runtime": f"Conteur page ({backend.get('name')}, {backend.get('detail')})",
            "timings": hook.get("timings"),
        }
        return {"load_ms": seen, "detail": detail}

    def run(self, page, prompt: Prompt, max_new_tokens: int) -> dict:
        before = page.evaluate("window.conteur.stories")
        page.fill("[data-testid=free-text]", prompt.text)
        if not page.is_visible("#temperature"):
            page.click("#advanced summary")
        page.fill("#temperature", "0")  # greedy, like every other contender
        page.fill("#repetition_penalty", "1")
        page.fill("#max_new_tokens", str(max_new_tokens))
        page.click("[data-testid=generate]")
        page.wait_for_function(
            f"window.conteur.stories > {before} || window.conteur.state === 'error'",
            timeout=LOAD_TIMEOUT_MS,
            polling=100,
        )
        last = page.evaluate("window.conteur.last")
        if last is None or page.evaluate("window.conteur.stories") <= before:
            raise RuntimeError(f"{prompt.name}: {page.evaluate('window.conteur.errors')}")
        s = last["stats"]
        ttft_ms = s["time_to_first_token"] * 1000
        out = {
            "prompt_tokens": s["prompt_tokens"],
            "ttft_ms": ttft_ms,
            "prefill_tokens_per_s": s["prompt_tokens"] / (ttft_ms / 1000) if ttft_ms else None,
            "generated": s["generated_tokens"],
            "tokens": last.get("ids"),
            "text": last.get("text"),
            "extra": {"stats": s, "stop_reason": last.get("stop_reason")},
        }
        if s["generated_tokens"] > 1:
            out["decode_tokens_per_s"] = s["decode_tokens_per_second"] or None
        return out

    def after_runs(self, page) -> dict:
        """The page's speed check, as a reader would run it, beside the timed runs."""
        return {"speed_check": page_speed_check(page)}


def page_speed_check(page) -> dict:
    """The page's own speed check (Advanced settings): the line readers copy."""
    if not page.is_visible("[data-testid=speed-check]"):
        page.click("#advanced summary")
    page.click("[data-testid=speed-check]")
    page.wait_for_function(
        "['done', 'error'].includes(document.querySelector('[data-testid=speed-result]')"
        ".dataset.state)",
        timeout=LOAD_TIMEOUT_MS,
        polling=100,
    )
    line = page.get_attribute("[data-testid=speed-result]", "data-json")
    if not line:
        raise RuntimeError(page.inner_text("[data-testid=speed-result]"))
    return json.loads(line)


def wait_for_bench_state(page) -> dict:
    """Wait until a bench page reports ready (or failed); returns window.benchState."""
    page.wait_for_function(
        "window.benchState && (window.benchState.ready || window.benchState.failed)",
        timeout=LOAD_TIMEOUT_MS,
        polling=100,
    )
    state = page.evaluate("window.benchState")
    if not state.get("ready"):
        raise RuntimeError(f"the page failed to load: {state.get('failed')}")
    return state
