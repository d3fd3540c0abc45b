"""The exported model's `conteur.json`, read and checked once.

The generation loop, the runners and the prompt builder all need facts about
the model (context length, special token ids, whether it is the pretrained or
the instruction-tuned variant, how many candidates the graph returns). They
come from the exporter's config file rather than from literals scattered in
the code (docs/architecture.md lists the file's fields).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BACKENDS",
    "CONFIG_FILE",
    "VARIANTS",
    "BackendGraph",
    "ConfigError",
    "ModelConfig",
    "OutputHead",
    "RestFile",
    "SessionOptions",
    "SpecialTokens",
    "read_graphs",
]

CONFIG_FILE = "conteur.json"
FORMAT = "conteur-model"
FORMAT_VERSION = 1
VARIANTS = ("pretrained", "instruction-tuned")
BACKENDS = ("webgpu", "wasm")  # conteur.json `graphs`: one graph per backend
GRAPH_OPTIMIZATIONS = ("all", "disabled")  # onnxruntime's graph optimizations: all or none
EXECUTION_MODES = ("sequential", "parallel")
KV_CACHES = ("float32", "float16")  # the KV cache's element type, per graph
# Fields of "architecture" the Python side relies on; all positive integers.
ARCHITECTURE_INTS = (
    "num_layers",
    "hidden_size",
    "num_heads",
    "num_kv_heads",
    "head_dim",
    "vocab_size",
    "context_length",
)


class ConfigError(ValueError):
    """`conteur.json` is missing, unreadable or does not describe a usable model."""


@dataclass(frozen=True)
class SpecialTokens:
    """Ids of the tokens the loop and the prompt builder treat specially.

    The chat-turn markers exist in Gemma's vocabulary (105, 106) but a model
    exported from another tokenizer may lack them: then they are None.
    """

    bos: int
    eos: int
    pad: int | None = None
    unk: int | None = None
    start_of_turn: int | None = None
    end_of_turn: int | None = None


@dataclass(frozen=True)
class OutputHead:
    """Which output tokens a graph gives logits for (the others get -inf)."""

    kept: int  # tokens with a logit
    of: int  # the vocabulary
    rule: str  # "full", or how the kept tokens were chosen (the story shortlist)


@dataclass(frozen=True)
class SessionOptions:
    """How onnxruntime must open a graph; the exporter decides (export/graphs/), every
    runtime follows: onnxruntime-web in the page, pyshell's OnnxRunner in CPython."""

    graph_optimization: str  # "all" | "disabled"
    execution_mode: str  # "sequential" | "parallel"
    inter_op_threads: int | None  # None: onnxruntime's default


@dataclass(frozen=True)
class RestFile:
    """conteur.json `graphs.wasm.rest`: the embedding rows kept out of the graph, read on
    demand (the layout is pyshell/rest_rows.py's)."""

    file: str  # e.g. "model-cpu.rest"
    rows: int  # tokens outside the graph's head
    width: int  # values per row (the hidden size)
    block: int  # values per scale
    record_bytes: int
    ids_offset: int
    records_offset: int


@dataclass(frozen=True)
class BackendGraph:
    """The graph one backend runs, from conteur.json `graphs.<backend>`."""

    backend: str  # "webgpu" or "wasm"
    model: str  # the graph file, e.g. "model-cpu.onnx"
    data: tuple[str, ...]  # its external data files, as the graph names them
    # Byte offsets (first 0) where the page may cut each data file: tensor boundaries.
    data_chunks: Mapping[str, tuple[int, ...]] = field(hash=False)
    head: OutputHead
    session: SessionOptions
    kv_cache: str  # the past/present tensors' element type: "float32" or "float16"
    rest: RestFile | None = None  # the CPU graph's rows of the tokens its head does not keep

    @property
    def files(self) -> tuple[str, ...]:
        """The graph's file, its data files and its rest rows: what this backend downloads."""
        return (self.model, *self.data, *([self.rest.file] if self.rest else []))


@dataclass(frozen=True)
class ModelConfig:
    """What pyshell needs to know about an exported model folder."""

    name: str
    variant: str  # "pretrained" or "instruction-tuned"
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    context_length: int  # most tokens (prompt + generated) the model attends to
    tokens: SpecialTokens
    top_k: int  # candidates the graph returns per step (`top_ids`, `top_values`)
    graphs: Mapping[str, BackendGraph] = field(hash=False)  # backend -> the graph it runs
    # Positions a sliding layer attends to (its own included); None: not in conteur.json.
    sliding_window: int | None = None

    def graph(self, backend: str) -> BackendGraph:
        """The graph `backend` ("webgpu" or "wasm") runs: the one place that rule is read."""
        if backend not in self.graphs:
            raise ConfigError(
                f"unknown backend {backend!r} (expected one of {', '.join(BACKENDS)})"
            )
        return self.graphs[backend]

    @property
    def stop_ids(self) -> frozenset[int]:
        """Ids that end a story: EOS, and `<end_of_turn>` when the vocabulary has it."""
        ids = {self.tokens.eos}
        if self.tokens.end_of_turn is not None:
            ids.add(self.tokens.end_of_turn)
        return frozenset(ids)

    @property
    def instruction_tuned(self) -> bool:
        return self.variant == "instruction-tuned"

    @classmethod
    def load(cls, source: Mapping | str | Path) -> ModelConfig:
        """From a parsed dict, a `conteur.json` path, or a model folder holding one."""
        if isinstance(source, Mapping):
            return cls.from_dict(source)
        return cls.from_file(source)

    @classmethod
    def from_file(cls, path: str | Path) -> ModelConfig:
        path = Path(path)
        if path.is_dir():
            path = path / CONFIG_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path} does not exist: is this an exported model folder?") from None
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc}") from None
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    @classmethod
    def from_dict(cls, data: Mapping) -> ModelConfig:
        if not isinstance(data, Mapping):
            raise ConfigError("the config must be a JSON object")
        _check_format(data)
        architecture = _section(data, "architecture")
        arch = {key: _positive_int(architecture, key, "architecture") for key in ARCHITECTURE_INTS}
        tokens = _tokens(_section(data, "tokens"), arch["vocab_size"])
        graph = data.get("graph", {})
        if not isinstance(graph, Mapping):
            raise ConfigError('"graph" must be an object')
        top_k = _positive_int(graph, "top_k", "graph") if "top_k" in graph else 64
        if top_k > arch["vocab_size"]:
            raise ConfigError(
                f"graph.top_k ({top_k}) exceeds the vocabulary ({arch['vocab_size']})"
            )
        variant = data.get("variant", "pretrained")
        if variant not in VARIANTS:
            raise ConfigError(f'"variant" must be one of {", ".join(VARIANTS)} (got {variant!r})')
        name = data.get("name", "model")
        if not isinstance(name, str):
            raise ConfigError('"name" must be a string')
        graphs = read_graphs(data)
        window = (
            _positive_int(architecture, "sliding_window", "architecture")
            if "sliding_window" in architecture
            else None
        )
        return cls(
            name=name, variant=variant, tokens=tokens, top_k=top_k, graphs=graphs,
            sliding_window=window, **arch,
        )  # fmt: skip


def read_graphs(data: Mapping) -> dict[str, BackendGraph]:
    """conteur.json `graphs`, checked: the graph each backend runs.

    Every export since the CPU graph writes one entry per backend; a folder without
    them comes from an older exporter and is refused (`is_current` re-exports it).
    """
    if "graphs" not in data:
        raise ConfigError(
            'the "graphs" section is missing: the folder comes from an older exporter; '
            "re-export the model"
        )
    section = _section(data, "graphs")
    return {backend: _graph(section, backend) for backend in BACKENDS}


def _graph(section: Mapping, backend: str) -> BackendGraph:
    entry = section.get(backend)
    where = f"graphs.{backend}"
    if not isinstance(entry, Mapping):
        raise ConfigError(f'"graphs" has no usable "{backend}" entry')
    model = entry.get("model")
    if not isinstance(model, str) or not model:
        raise ConfigError(f"{where}.model must be a file name (got {model!r})")
    data = entry.get("data")
    if not isinstance(data, list) or not all(isinstance(n, str) and n for n in data):
        raise ConfigError(f"{where}.data must be a list of file names (got {data!r})")
    return BackendGraph(
        backend=backend,
        model=model,
        data=tuple(data),
        data_chunks=_data_chunks(_object(entry, "data_chunks", where), data, where),
        head=_head(_object(entry, "head", where), f"{where}.head"),
        session=_session(_object(entry, "session", where), f"{where}.session"),
        kv_cache=_kv_cache(entry.get("kv_cache"), f"{where}.kv_cache"),
        rest=_rest(entry["rest"], f"{where}.rest") if "rest" in entry else None,
    )


def _object(entry: Mapping, key: str, where: str) -> Mapping:
    value = entry.get(key)
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}.{key} must be an object (got {value!r})")
    return value


def _data_chunks(chunks: Mapping, data: list[str], where: str) -> dict[str, tuple[int, ...]]:
    found = {}
    for name in data:
        starts = chunks.get(name)
        if (
            not isinstance(starts, list)
            or not starts
            or starts[0] != 0
            or not all(_is_int(s) for s in starts)
            or starts != sorted(set(starts))
        ):
            raise ConfigError(
                f"{where}.data_chunks.{name} must be ascending byte offsets from 0 (got {starts!r})"
            )
        found[name] = tuple(starts)
    return found


def _head(section: Mapping, where: str) -> OutputHead:
    kept, of = _positive_int(section, "kept", where), _positive_int(section, "of", where)
    rule = section.get("rule")
    if kept > of or not isinstance(rule, str):
        raise ConfigError(f"{where} must keep at most its {of} tokens and name its rule")
    return OutputHead(kept=kept, of=of, rule=rule)


def _kv_cache(value, where: str) -> str:
    if value not in KV_CACHES:
        raise ConfigError(f"{where} must be one of {', '.join(KV_CACHES)} (got {value!r})")
    return value


def _rest(section, where: str) -> RestFile:
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where} must be an object (got {section!r})")
    file = section.get("file")
    if not isinstance(file, str) or not file:
        raise ConfigError(f"{where}.file must be a file name (got {file!r})")
    numbers = ("rows", "width", "block", "record_bytes", "ids_offset", "records_offset")
    return RestFile(file, *(_positive_int(section, key, where) for key in numbers))


def _session(section: Mapping, where: str) -> SessionOptions:
    optimization = section.get("graph_optimization")
    mode = section.get("execution_mode")
    threads = section.get("inter_op_threads")
    if optimization not in GRAPH_OPTIMIZATIONS:
        raise ConfigError(
            f"{where}.graph_optimization must be one of {', '.join(GRAPH_OPTIMIZATIONS)} "
            f"(got {optimization!r})"
        )
    if mode not in EXECUTION_MODES:
        raise ConfigError(
            f"{where}.execution_mode must be one of {', '.join(EXECUTION_MODES)} (got {mode!r})"
        )
    if threads is not None and not (_is_int(threads) and threads > 0):
        raise ConfigError(f"{where}.inter_op_threads must be a positive integer or null")
    return SessionOptions(optimization, mode, threads)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_format(data: Mapping) -> None:
    """Refuse files that are not ours, or are from a newer exporter than this reader."""
    if data.get("format", FORMAT) != FORMAT:
        raise ConfigError(f'"format" is {data.get("format")!r}, expected {FORMAT!r}')
    version = data.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(f'"format_version" must be an integer (got {version!r})')
    if version > FORMAT_VERSION:
        raise ConfigError(
            f"format_version {version} is newer than this code reads ({FORMAT_VERSION}): "
            "update Conteur or re-export the model"
        )


def _section(data: Mapping, key: str) -> Mapping:
    if key not in data:
        raise ConfigError(f'the "{key}" section is missing')
    section = data[key]
    if not isinstance(section, Mapping):
        raise ConfigError(f'"{key}" must be an object')
    return section


def _positive_int(section: Mapping, key: str, where: str) -> int:
    if key not in section:
        raise ConfigError(f"{where}.{key} is missing")
    value = section[key]
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{where}.{key} must be a positive integer (got {value!r})")
    return value


def _tokens(section: Mapping, vocab_size: int) -> SpecialTokens:
    found: dict[str, int | None] = {}
    for key in ("bos", "eos", "pad", "unk", "start_of_turn", "end_of_turn"):
        value = section.get(key)
        if value == -1 and key not in ("bos", "eos"):
            value = None  # sentencepiece's "no such piece"
        if value is None:
            if key in ("bos", "eos"):
                raise ConfigError(f"tokens.{key} is missing")
            found[key] = None
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < vocab_size:
            raise ConfigError(
                f"tokens.{key} must be a token id in 0..{vocab_size - 1} (got {value!r})"
            )
        found[key] = value
    return SpecialTokens(**found)
