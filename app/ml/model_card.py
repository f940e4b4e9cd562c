"""The README.md of a standalone model directory: what it is and how plain `transformers`
loads it, for the way its head reads the token states."""

from pathlib import Path

from app.ml.arguments import Pooling

CARD_NAME = "README.md"
POOLING_KEY = "adaptd_pooling"

_MEAN_POOLED = """```python
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

texts = ["your text"]
model = AutoModelForSequenceClassification.from_pretrained("{path}").eval()
tokenizer = AutoTokenizer.from_pretrained("{path}")
encoded = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
with torch.inference_mode():
    states = model.base_model(**encoded).last_hidden_state
    mask = encoded["attention_mask"].unsqueeze(-1).to(states.dtype)
    logits = model.classifier((states * mask).sum(1) / mask.sum(1))
for text, scores in zip(texts, logits.softmax(-1)):
    print(text, model.config.id2label[int(scores.argmax())], float(scores.max()))
```

The head reads the mean of the token states over the attention mask (config.json says
`"{key}": "mean"`), not BERT's first-token pooler, so `pipeline("text-classification")` and a
plain `model(**encoded).logits` give different, wrong scores for this model. Train with
`"pooling": "cls"` for a model that `pipeline` serves as is."""

_FIRST_TOKEN = """```python
from transformers import pipeline

texts = ["your text"]
classifier = pipeline("text-classification", model="{path}", top_k=None)
print(classifier(texts))
```"""


def write_model_card(directory: Path, labels: list[str], pooling: Pooling) -> None:
    usage = (_MEAN_POOLED if pooling == "mean" else _FIRST_TOKEN).format(
        path="path/to/this/directory", key=POOLING_KEY
    )
    shown = ", ".join(labels[:20]) + (f" and {len(labels) - 20} more" if len(labels) > 20 else "")
    card = (
        "# Text classifier trained by adaptd\n\n"
        f"A sequence classifier over {len(labels)} labels ({shown}), in Hugging Face format; "
        "`adaptd.json` beside it records how it was trained and its validation scores.\n\n"
        f"## Loading it with transformers\n\n{usage}\n"
    )
    (directory / CARD_NAME).write_text(card)
