"""Checks of an exported folder against the numpy reference, and the page's self-check.

metrics.py       perplexity ratio, KL, top-1 (with a trimmed head's lost mass)
onnx_io.py       open a graph with onnxruntime, feed a whole text at once
eval_text.py     the evaluation text's ids and the float32 reference on them
webgpu_check.py  the WebGPU graph against the reference on its own weights
cpu_check.py     the CPU graph against the rounded reference on its own weights
self_check.py    conteur.json's `self_check` (the page replays it on WebGPU)
verify.py        `python -m export --verify`: each backend's graph vs the source
"""
