"""Bad input to the exporter: one clear error line, a non-zero exit, no output folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_export


def assert_clean_failure(result, out: Path, *words: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("export: error: ")
    for word in words:
        assert word in lines[0], lines[0]
    assert not out.exists()
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert leftovers == []


def test_not_a_gguf(tmp_path):
    bogus = tmp_path / "model.gguf"
    bogus.write_text("this is plain text, not a model")
    out = tmp_path / "out"
    assert_clean_failure(run_export("--gguf", str(bogus), "--out", str(out)), out, "not a GGUF")


def test_truncated_gguf(tmp_path, tiny_sources):
    data = tiny_sources["gguf"].read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    assert_clean_failure(run_export("--gguf", str(cut), "--out", str(out)), out, "truncated")


def test_gguf_of_another_architecture(tmp_path):
    import gguf
    import numpy as np

    path = tmp_path / "llama.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    out = tmp_path / "out"
    assert_clean_failure(
        run_export("--gguf", str(path), "--out", str(out)), out, "'llama'", "gemma3"
    )


@pytest.mark.parametrize("missing", ["config.json", "tokenizer.model", "model.safetensors"])
def test_hf_folder_missing_a_file(tmp_path, tiny_sources, missing):
    folder = tmp_path / "hf"
    shutil.copytree(tiny_sources["hf"], folder)
    (folder / missing).unlink()
    out = tmp_path / "out"
    assert_clean_failure(
        run_export("--hf", str(folder), "--out", str(out)),
        out,
        missing.replace("model.safetensors", "safetensors"),
    )


def test_unwritable_output_folder(tmp_path, tiny_sources):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    out = blocker / "model"
    result = run_export("--gguf", str(tiny_sources["gguf"]), "--out", str(out))
    assert result.returncode != 0
    assert result.stderr.strip().startswith("export: error: cannot write the output folder")
    assert len(result.stderr.strip().splitlines()) == 1
    assert blocker.read_text() == "in the way"


def test_failure_during_export_leaves_nothing(tmp_path, tiny_sources, monkeypatch):
    """A crash after files were written (here: in verification) leaves no folder."""
    from export import pipeline
    from export.progress import Progress
    from export.quantize.schemes import SCHEMES

    def broken(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(pipeline, "check_webgpu_graph", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        pipeline.export_model(
            out, SCHEMES["default"], gguf=tiny_sources["gguf"], progress=Progress(enabled=False)
        )
    assert list(tmp_path.iterdir()) == []


def test_failed_reexport_keeps_the_previous_model(tmp_path, tiny_sources, tiny_model_dir):
    out = tmp_path / "model"
    shutil.copytree(tiny_model_dir, out)
    before = sorted((p.name, p.stat().st_size) for p in out.iterdir())
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 10)
    result = run_export("--gguf", str(bogus), "--out", str(out))
    assert result.returncode != 0
    assert sorted((p.name, p.stat().st_size) for p in out.iterdir()) == before
