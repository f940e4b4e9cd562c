"""A model as a standalone Hugging Face directory that `transformers` loads without adaptd."""

from pathlib import Path

from app.core.config import Settings
from app.core.storage import open_store
from app.ml.artifact import Manifest
from app.ml.loading import BaseModelError
from app.ml.strategies import SPECS, spec_of
from app.models import Model

STANDALONE_STRATEGIES = tuple(name for name, spec in SPECS.items() if spec.export is not None)


class NotExportable(ValueError):
    """The model's strategy has no standalone sequence-classification form."""


def export_standalone(settings: Settings, model: Model, out: Path) -> None:
    """Write the model as its strategy exports it: a `full` model is copied, `lora` adapters
    are merged into their base model's weights."""
    source = open_store(settings).fetch(model.artifact_key)
    spec = spec_of(model.strategy)
    if spec.export is None:
        raise NotExportable(
            f"model {model.id} is `{model.strategy}`; only {' and '.join(STANDALONE_STRATEGIES)} "
            "models export as standalone transformers models"
        )
    if out.exists() and any(out.iterdir()):
        raise NotExportable(f"{out} is not empty; choose a new directory")
    base_model_path = settings.registered_base_models.get(model.base_model)
    if spec.shares_base and base_model_path is None:
        raise BaseModelError(f"base model {model.base_model!r} is not registered here")
    spec.export(source, base_model_path or "", Manifest.read(source), out)
