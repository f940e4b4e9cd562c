"""A model as a standalone Hugging Face directory that `transformers` loads without adaptd."""

import shutil
from pathlib import Path

from app.core.config import Settings
from app.core.storage import ArtifactStore
from app.ml.artifact import MANIFEST_NAME
from app.ml.loading import BaseModelError
from app.ml.sequence_classifier import export_merged_lora
from app.models import Model

STANDALONE_STRATEGIES = ("full", "lora")


class NotExportable(ValueError):
    """The model's strategy has no standalone sequence-classification form."""


def export_standalone(settings: Settings, model: Model, out: Path) -> None:
    """`full` models are copied; `lora` adapters are merged into their base model's weights."""
    source = ArtifactStore(settings.artifact_root).path(model.artifact_key)
    if model.strategy not in STANDALONE_STRATEGIES:
        raise NotExportable(
            f"model {model.id} is `{model.strategy}`; only {' and '.join(STANDALONE_STRATEGIES)} "
            "models export as standalone transformers models"
        )
    if out.exists() and any(out.iterdir()):
        raise NotExportable(f"{out} is not empty; choose a new directory")
    if model.strategy == "full":
        shutil.copytree(source, out, dirs_exist_ok=True)
        return
    base_model_path = settings.registered_base_models.get(model.base_model)
    if base_model_path is None:
        raise BaseModelError(f"base model {model.base_model!r} is not registered here")
    export_merged_lora(source, base_model_path, model.labels, out, multi_label=model.multi_label)
    shutil.copy2(source / MANIFEST_NAME, out / MANIFEST_NAME)
