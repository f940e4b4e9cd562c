"""Everything this process answers predict requests with, made once at start-up: one
dependency of the predict route instead of one per part, as the route runs for every text
the service scores."""

from dataclasses import dataclass

from app.core.config import Settings
from app.serving.admission import TeamAdmission
from app.serving.batcher import Batcher
from app.serving.cache import ModelCache


@dataclass(frozen=True)
class Serving:
    settings: Settings
    model_cache: ModelCache
    batcher: Batcher
    admission: TeamAdmission
