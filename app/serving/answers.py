"""The JSON body of a predict answer, written straight from the ranked scores: a model of many
labels answers 64 texts with thousands of label scores, and building a pydantic object for
each costs more than the forward pass. The body has exactly the shape of `PredictResponse`,
which documents it in the OpenAPI schema."""

from pydantic_core import to_json

from app.ml.predictor import Ranking


def predict_answer(model_id: str, labels: list[str], ranking: Ranking) -> bytes:
    predictions = [
        {
            "label": None if abstained else labels[indices[0]],
            "score": scores[0],
            "labels": [labels[index] for index in chosen],
            "scores": [
                {"label": labels[index], "score": score}
                for index, score in zip(indices, scores, strict=True)
            ],
            "abstained": abstained,
        }
        for indices, scores, chosen, abstained in ranking.rows()
    ]
    return to_json({"model_id": model_id, "predictions": predictions})
