"""Yardsticks for serving, measured in a process of their own pinned to the server's cores.
Prints JSON.

    python -m benchmarks.raw_forward MODEL_DIR TEXTS_FILE [--cpus 0] [--seconds 3]

the raw forward pass of a saved `full` model (plain transformers, tokenizing included):
texts/s at each batch size and one text's latency;

    python -m benchmarks.raw_forward MODEL_DIR TEXTS_FILE --cold BACKEND --base-model PATH

the least a server must spend on a model's first request: adaptd loading the model on BACKEND
(its ONNX graph already exported) and scoring one text.
"""

import argparse
import json
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

BATCH_SIZES = (1, 8, 16, 32, 64, 128)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("texts_file", type=Path)
    parser.add_argument("--cpus", type=lambda value: [int(c) for c in value.split(",")])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--cold", help="a backend: time loading the model and one pass")
    parser.add_argument("--base-model", help="the model's base model (for --cold)")
    parser.add_argument("--graphs", type=Path, help="ONNX graph directory (for --cold)")
    args = parser.parse_args()
    if args.cpus:
        os.sched_setaffinity(0, args.cpus)
        torch.set_num_threads(len(args.cpus))
    texts = json.loads(args.texts_file.read_text())
    if args.cold:
        print(json.dumps(_cold(args.model_dir, texts[0], args.cold, args.base_model, args.graphs)))
        return
    model = AutoModelForSequenceClassification.from_pretrained(args.model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)

    def forward(batch: Sequence[str]) -> None:
        encoded = tokenizer(list(batch), padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            model(**encoded).logits.softmax(-1)

    rates = {}
    for size in BATCH_SIZES:
        forward(texts[:size])
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < args.seconds:
            start = count % (len(texts) - size)
            forward(texts[start : start + size])
            count += size
        rates[size] = count / (time.perf_counter() - started)
    single = []
    for text in texts[:300]:
        started = time.perf_counter()
        forward([text])
        single.append(time.perf_counter() - started)
    print(json.dumps({"rates": rates, "single_ms": statistics.median(single) * 1000}))


def _cold(
    model_dir: Path, text: str, backend: str, base_model: str, graphs: Path
) -> dict[str, float]:
    from app.ml.predictor import Predictor
    from app.ml.runtime import Backend, Runtime

    manifest_base = json.loads((model_dir / "adaptd.json").read_text())["base_model"]
    bases, runtime = {manifest_base: base_model}, Runtime(Backend(backend), graphs)
    Predictor.from_pretrained(model_dir, bases, runtime=runtime)  # imports, as a server has
    started = time.perf_counter()
    predictor = Predictor.from_pretrained(model_dir, bases, runtime=runtime)
    loaded = time.perf_counter()
    predictor.probabilities([text])
    done = time.perf_counter()
    return {"load_ms": (loaded - started) * 1000, "pass_ms": (done - loaded) * 1000}


if __name__ == "__main__":
    main()
