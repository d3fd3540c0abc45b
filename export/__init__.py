"""Export Gemma 3 to an int4/int8 ONNX model folder for onnxruntime(-web)."""
