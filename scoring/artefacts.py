"""Model artefacts: a directory holding ``model.joblib`` and its ``metadata.json`` sidecar.

joblib files are pickles: loading one runs code. So the caller must pass only trusted paths (the operator's
model store), never a path or a file that came from a request. ``load`` refuses a model whose sidecar names
another scikit-learn version (pickled estimators are not portable across versions) or whose file hash differs
from the one recorded at save time.

A directory is written once: ``save`` builds it under a temporary name and renames it into place, so a failed
save leaves nothing half-written, and it refuses a directory that already holds files.
"""

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import sklearn

from scoring.model import TrainedModel

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"


class ArtefactError(RuntimeError):
    """The artefact cannot be saved or must not be loaded; the message says why."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_new(directory: Path) -> None:
    """Refuse a directory that already holds files: a model version is written once."""
    if directory.exists() and any(directory.iterdir()):
        raise ArtefactError(f"{directory} already holds files; a model version is written once")


def save(
    model: TrainedModel,
    directory: Path,
    metrics: Mapping[str, float],
    report: Mapping[str, Any] | None = None,
    files: Mapping[str, bytes] | None = None,
) -> dict[str, Any]:
    """Write the model, its sidecar and optional extra files (``report`` becomes report.json, with the model
    version added) into ``directory``, which must be new or empty. Returns the sidecar."""
    directory = Path(directory)
    ensure_new(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        joblib.dump(model, staging / MODEL_FILE)
        created = datetime.now(UTC)
        model_sha256 = _sha256(staging / MODEL_FILE)
        metadata = {
            "version": f"{created:%Y%m%dT%H%M%SZ}-{model_sha256[:8]}",
            "created_at": created.isoformat(timespec="seconds"),
            "sklearn_version": sklearn.__version__,
            "model_sha256": model_sha256,
            "training_data_sha256": model.data_sha256,
            "features": model.columns,
            "categorical": sorted(model.levels),
            "monotone": model.monotone,
            "excluded": model.excluded,
            "settings": model.settings,
            "metrics": dict(metrics),
        }
        _write_json(staging / METADATA_FILE, metadata)
        if report is not None:
            _write_json(staging / "report.json", {**report, "model_version": metadata["version"]})
        for name, content in (files or {}).items():
            (staging / name).write_bytes(content)
        if directory.exists():
            directory.rmdir()
        os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return metadata


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_metadata(directory: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(directory) / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ArtefactError(f"{directory}: cannot read {METADATA_FILE} ({error})") from error


def load(directory: Path) -> tuple[TrainedModel, dict[str, Any]]:
    """The model and its sidecar, after checking the scikit-learn version and the file hash. Trusted paths only."""
    directory = Path(directory)
    metadata = read_metadata(directory)
    saved_with = metadata.get("sklearn_version")
    if saved_with != sklearn.__version__:
        raise ArtefactError(
            f"{directory}: model saved with scikit-learn {saved_with}, running {sklearn.__version__}; retrain it"
        )
    try:
        model_sha256 = _sha256(directory / MODEL_FILE)
    except OSError as error:
        raise ArtefactError(f"{directory}: cannot read {MODEL_FILE} ({error})") from error
    if model_sha256 != metadata.get("model_sha256"):
        raise ArtefactError(f"{directory}: {MODEL_FILE} does not match the hash in {METADATA_FILE}")
    model = joblib.load(directory / MODEL_FILE)
    if not isinstance(model, TrainedModel):
        raise ArtefactError(f"{directory}: {MODEL_FILE} does not hold a TrainedModel")
    return model, metadata
