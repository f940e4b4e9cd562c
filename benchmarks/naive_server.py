"""The endpoint a first version would write: one forward pass per request, no batching.
Run by `benchmarks.serving` as `uvicorn benchmarks.naive_server:app` with NAIVE_MODEL_DIR."""

import os
from typing import Any

import torch
from fastapi import FastAPI
from pydantic import BaseModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer

MODEL_DIR = os.environ["NAIVE_MODEL_DIR"]
model = AutoModelForSequenceClassification.from_pretrained(MODEL_DIR).eval()
tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
app = FastAPI()


class PredictRequest(BaseModel):
    inputs: list[str]


@app.get("/readyz")
def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/predict")
def predict(body: PredictRequest) -> dict[str, Any]:
    encoded = tokenizer(body.inputs, padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        scores = model(**encoded).logits.softmax(-1)
    best = scores.argmax(-1).tolist()
    return {"labels": [model.config.id2label[index] for index in best]}
