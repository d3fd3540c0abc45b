"""A new version of a built site, deployed in place the way a rebuild would change it.

`deploy_new_version(site)` changes app.css and writes what web/build.py would write for
that change: the file's new size and sha256 in sw.js's BUILD list, a new site version
in BUILD and in index.html's data-version (and index.html's own entry). Every other
file, the model's included, stays byte for byte: an update must carry those over.
Each file is replaced whole (written beside, then renamed), so a page that is
downloading another file meanwhile is not disturbed.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from web.precompress import GZIP_SUFFIX

BUILD_LINE = re.compile(r"^const BUILD = (\{.*\});$", re.MULTILINE)
VERSION_ATTRIBUTE = re.compile(r'data-version="([^"]*)"')


def read_build(site: Path) -> dict:
    """The BUILD object web/build.py wrote into sw.js."""
    match = BUILD_LINE.search((site / "sw.js").read_text())
    assert match, "sw.js has no BUILD line"
    return json.loads(match.group(1))


def deploy_new_version(site: Path, mark: str = "new version") -> str:
    """Change app.css in `site` and its build list; returns the new site version."""
    build = read_build(site)
    css = (site / "app.css").read_text() + f"\n/* {mark} */\n"
    replace(site / "app.css", css)
    version = hashlib.sha256(f"{build['version']}:{mark}".encode()).hexdigest()[:16]
    index = VERSION_ATTRIBUTE.sub(f'data-version="{version}"', (site / "index.html").read_text())
    replace(site / "index.html", index)
    for entry in build["files"]:
        if entry["url"] in ("app.css", "index.html"):
            data = (site / entry["url"]).read_bytes()
            entry.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    build["version"] = version
    source = (site / "sw.js").read_text()
    line = BUILD_LINE.search(source).group(0)
    replace(site / "sw.js", source.replace(line, f"const BUILD = {json.dumps(build)};"))
    return version


def replace(path: Path, text: str) -> None:
    """Write `path` whole at once (never through a hard link of a copied site); its
    gzip copy from the build (web/precompress.py) goes, or servers would send the old one."""
    staged = path.with_name(path.name + ".deploy")
    staged.write_text(text)
    staged.replace(path)
    path.with_name(path.name + GZIP_SUFFIX).unlink(missing_ok=True)
