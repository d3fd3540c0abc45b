"""Second opinion from llama.cpp: it must compute the same logits as our ONNX graph.

llama.cpp runs an all-float32 GGUF holding exactly the weights the ONNX graph
uses (the int8/int4 values dequantized), so any difference is a difference in
how the two implementations compute Gemma 3 (norm convention, RoPE, sliding
window, scaling), not quantization. llama-cpp-python builds from source; the
set-up installs it, and this module is skipped only where that build failed.
"""

from __future__ import annotations

import numpy as np
import pytest

from export.checks.eval_text import DEFAULT_TEXT, tokenize
from export.checks.onnx_io import onnx_logits, session
from export.sources.gguf_file import open_reader
from tests.conftest import ROOT

llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python did not build here")
pytestmark = pytest.mark.real_model

SOURCE = ROOT / "build" / "cache" / "gemma-3-270m-q4_k_m.gguf"
GGUF_NAMES = {
    "q": "attn_q", "k": "attn_k", "v": "attn_v", "o": "attn_output", "gate": "ffn_gate",
    "up": "ffn_up", "down": "ffn_down", "attn_norm": "attn_norm", "q_norm": "attn_q_norm",
    "k_norm": "attn_k_norm", "post_attn_norm": "post_attention_norm", "ffn_norm": "ffn_norm",
    "post_ffn_norm": "post_ffw_norm",
}  # fmt: skip


def gguf_name(canonical: str) -> str:
    if canonical == "embed":
        return "token_embd.weight"
    if canonical == "final_norm":
        return "output_norm.weight"
    _, layer, kind = canonical.split(".")
    return f"blk.{layer}.{GGUF_NAMES[kind]}.weight"


def write_float32_twin(path, tensors: dict) -> None:
    """The source GGUF's metadata and tokenizer with these float32 tensors."""
    import gguf

    reader = open_reader(SOURCE)
    writer = gguf.GGUFWriter(str(path), "gemma3")
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name in (
            "general.architecture",
            "general.file_type",
        ):
            continue
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), field.types[0], sub_type=sub_type)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    for name, value in tensors.items():
        writer.add_tensor(gguf_name(name), np.ascontiguousarray(value, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.fixture(scope="module")
def twin_path(real_exported_tensors, tmp_path_factory):
    path = tmp_path_factory.mktemp("llama") / "twin-f32.gguf"
    write_float32_twin(path, real_exported_tensors)
    return path


def test_llama_cpp_agrees_with_onnx_on_every_position(twin_path, real_model_dir, real_config):
    ids = tokenize(real_model_dir, DEFAULT_TEXT.read_text())
    assert len(ids) > 512  # past the sliding window
    llm = llama_cpp.Llama(
        str(twin_path),
        n_ctx=1024,
        n_batch=1024,
        n_threads=2,
        logits_all=True,
        verbose=False,
        type_k=llama_cpp.GGML_TYPE_F32,
        type_v=llama_cpp.GGML_TYPE_F32,  # default KV is f16
    )
    llm.eval(ids)
    theirs = np.asarray(llm.scores[: len(ids)], np.float32)
    ours = onnx_logits(session(real_model_dir), real_config, ids)
    diff = np.abs(theirs - ours).max(axis=-1)
    print(
        f"llama.cpp vs ONNX over {len(ids)} positions: max |diff| {diff.max():.4f}, "
        f"median {np.median(diff):.4f}"
    )
    # llama.cpp evaluates GELU through a float16 table, so it is not bit-exact;
    # a convention error (norm, RoPE, window, scale) would show as whole logits.
    assert diff.max() <= 5e-2
    assert np.median(diff) <= 1e-2
    assert (theirs.argmax(-1) == ours.argmax(-1)).mean() >= 0.99
