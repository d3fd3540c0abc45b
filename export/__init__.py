"""Export Gemma 3 to an int4/int8 ONNX model folder for onnxruntime(-web).

Subpackages in layers, each importing only from those below it (docs/architecture.md,
"The exporter's layers"): model ← sources ← quantize ← graphs ← folder ← checks ←
pipeline ← cli; tools/ holds the offline builders.
"""
