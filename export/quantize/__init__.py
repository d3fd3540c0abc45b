"""From float32 weights to what each graph stores.

blocks.py           block-wise int4/int8 in the byte layout of MatMulNBits
schemes.py          which precision each matrix gets (the WebGPU graph)
quantized_model.py  QuantizedModel: the WebGPU graph's weights
int8_columns.py     int8 (K, N) with one scale per output column (the CPU graph)
smoothing.py        per-channel smoothing calibrated on the model's own stories
shortlist.py        the story shortlist the CPU graph's head keeps
cpu_model.py        CpuModel: the CPU graph's weights
"""
