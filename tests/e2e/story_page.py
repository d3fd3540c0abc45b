"""Drive the Conteur page the way a reader does, and read its test hook (window.conteur).

The selectors are the page's stable interface: data-testid free-text,
generate, stop, story, status and backend (see docs/architecture.md).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Worker

LOAD_TIMEOUT_MS = 180_000  # first visit: download, Pyodide boot and session on two busy cores
STORY_TIMEOUT_MS = 300_000
SETTINGS = ("temperature", "top_p", "repetition_penalty", "max_new_tokens", "seed")
STORY_FIELDS = ("character", "setting", "theme", "tone")
# Every record of "My stories", read with IndexedDB's own API (not the page's code).
# Only once the page has opened the library (window.conteur.saved is set): opening
# the database first would create it without its object store.
READ_SAVED_STORIES = """() => new Promise((resolve, reject) => {
  const request = indexedDB.open("conteur");
  request.onerror = () => reject(request.error);
  request.onsuccess = () => {
    const db = request.result;
    const all = db.transaction("stories").objectStore("stories").getAll();
    all.onsuccess = () => { db.close(); resolve(all.result); };
    all.onerror = () => reject(all.error);
  };
})"""


class StoryPage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []  # URLs its context asked for, when recorded (conftest)
        self.downloads: list[str] = []  # of those, the ones the network answered

    # --- reading ------------------------------------------------------------------

    def state(self) -> str:
        return self.page.get_attribute('[data-testid="status"]', "data-state") or ""

    def status_text(self) -> str:
        return self.page.inner_text('[data-testid="status"]')

    def story_text(self) -> str:
        return self.page.text_content('[data-testid="story"]') or ""

    def backend(self) -> str:
        return self.page.get_attribute('[data-testid="backend"]', "data-backend") or ""

    def backend_text(self) -> str:
        return self.page.inner_text('[data-testid="backend"]')

    def hook(self, expression: str = ""):
        """A value of window.conteur (e.g. hook("last.ids"))."""
        return self.page.evaluate(f"window.conteur{'.' + expression if expression else ''}")

    def stories(self) -> int:
        return self.hook("stories")

    def memory(self) -> dict:
        return self.page.evaluate("window.conteur.memory()")

    def saved_stories(self) -> list[dict]:
        """The stories kept in IndexedDB, oldest first, as stored."""
        self.page.wait_for_function("window.conteur && window.conteur.saved !== null")
        return self.page.evaluate(READ_SAVED_STORIES)

    def engine(self) -> Worker:
        """The module worker that runs Pyodide and the model (js/worker/main.js)."""
        (worker,) = [
            w for w in self.page.workers if urlsplit(w.url).path.endswith("/js/worker/main.js")
        ]
        return worker

    # --- waiting ------------------------------------------------------------------

    def wait_loaded(self, timeout: int = LOAD_TIMEOUT_MS) -> None:
        """Until loading ends, in ready or error."""
        self.page.wait_for_function(
            "window.conteur && ['ready', 'error'].includes(window.conteur.state)",
            timeout=timeout,
        )

    def assert_ready(self) -> None:
        assert self.state() == "ready", f"the page did not load: {self.status_text()}"

    def wait_finished(self, stories_before: int, timeout: int = STORY_TIMEOUT_MS) -> dict:
        """Until the story started after `stories_before` ends; returns window.conteur.last."""
        self.page.wait_for_function(
            "([n]) => window.conteur.stories > n || "
            "(window.conteur.state === 'error' && window.conteur.errors.length > 0)",
            arg=[stories_before],
            timeout=timeout,
        )
        assert self.stories() > stories_before, f"the story failed: {self.status_text()}"
        return self.hook("last")

    def wait_generating(self, timeout: int = STORY_TIMEOUT_MS) -> None:
        """Until the page is writing. Best-of-2 shows a story a sentence at a time, so
        a story without a sentence end streams nothing until it is done."""
        self.page.wait_for_function("window.conteur.state === 'generating'", timeout=timeout)

    def wait_streamed(self, tokens: int, timeout: int = STORY_TIMEOUT_MS) -> None:
        self.page.wait_for_function(
            "([n]) => window.conteur.streamed >= n", arg=[tokens], timeout=timeout
        )

    # --- acting -------------------------------------------------------------------

    def fill(self, text: str = "", **fields: str) -> None:
        """Type the free text and any story fields; untouched fields are cleared."""
        self.page.fill('[data-testid="free-text"]', text)
        for name in STORY_FIELDS:
            self.page.fill(f"#{name}", fields.get(name, ""))
        if "language" in fields:
            self.page.select_option("#language", fields["language"])
        if "length" in fields:
            # The radios are hidden behind their labels (a segmented control): click as a
            # reader does.
            self.page.click(f'label[for="length-{fields["length"]}"]')
            assert self.page.is_checked(f"#length-{fields['length']}")

    def settings(self, **values: object) -> None:
        """Type advanced settings as a reader would (strings); the others are emptied."""
        if not self.page.is_visible("#temperature"):
            self.page.click("#advanced summary")
        for name in SETTINGS:
            self.page.fill(f"#{name}", str(values.get(name, "")))

    def click_generate(self) -> int:
        """Start a story; returns the story count before it, for wait_finished."""
        before = self.stories()
        self.page.click('[data-testid="generate"]')
        return before

    def write(
        self,
        text: str = "",
        settings: dict | None = None,
        timeout: int = STORY_TIMEOUT_MS,
        **fields: str,
    ) -> dict:
        """Fill the form, write one story and wait for it; returns window.conteur.last."""
        self.fill(text, **fields)
        self.settings(**(settings or {}))
        return self.wait_finished(self.click_generate(), timeout)

    def error_after_generate(self, timeout: int = 60_000) -> str:
        """Click Generate and wait for the error state; returns the status text."""
        errors = len(self.hook("errors"))
        self.page.click('[data-testid="generate"]')
        self.page.wait_for_function(
            "([n]) => window.conteur.errors.length > n && window.conteur.state === 'error'",
            arg=[errors],
            timeout=timeout,
        )
        return self.status_text()
