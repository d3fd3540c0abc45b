"""The two ONNX graphs, built from the same decoder skeleton.

builder.py        GraphBuilder: nodes, constants, names
interface.py      the inputs and outputs both graphs share (docs/architecture.md)
stored_matrix.py  4/8-bit block matrices as MatMulNBits / GatherBlockQuantized operands
step.py           StepInputs: the per-step tensors every layer reads
fused_ops.py      the float parts as onnxruntime's fused kernels (WebGPU graph)
exact_ops.py      the float parts with the same bits on x86 and wasm (CPU graph)
decoder.py        one Gemma 3 layer and the layer stack, for either set of ops
webgpu_graph.py   the WebGPU graph and how onnxruntime opens it
cpu_graph.py      the CPU (WASM) graph and how onnxruntime opens it
"""
