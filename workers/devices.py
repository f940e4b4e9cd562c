"""Which devices `adaptd worker` trains on: one Celery worker process per entry, each seeing
only its own GPU (CUDA_VISIBLE_DEVICES), or the CPU."""

import os
from dataclasses import dataclass

CPU = "cpu"


@dataclass(frozen=True)
class WorkerDevice:
    """A GPU by its index on this host, or the CPU (`gpu is None`)."""

    gpu: int | None

    @property
    def name(self) -> str:
        return CPU if self.gpu is None else f"gpu{self.gpu}"

    @property
    def setting(self) -> str:
        """The `device` setting of the processes that train on it."""
        return CPU if self.gpu is None else "cuda"

    def environment(self) -> dict[str, str]:
        """What the worker process for this device is started with: CUDA sees only its GPU
        (or none; an index counts among the GPUs this process sees), and training asks for
        that device."""
        if self.gpu is None:
            return {"CUDA_VISIBLE_DEVICES": "", "ADAPTD_DEVICE": CPU}
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        names = visible.split(",") if visible else [str(i) for i in range(self.gpu + 1)]
        return {"CUDA_VISIBLE_DEVICES": names[self.gpu].strip(), "ADAPTD_DEVICE": "cuda"}


class DeviceSpecError(ValueError):
    pass


def parse_devices(spec: str, gpus_present: int) -> list[WorkerDevice]:
    """`auto`: every GPU present, else the CPU; otherwise a comma-separated list of GPU
    indexes and `cpu` (`0,1`, `cpu`, `cpu,cpu` for two CPU training processes)."""
    spec = spec.strip().lower()
    if spec == "auto":
        if gpus_present == 0:
            return [WorkerDevice(None)]
        return [WorkerDevice(index) for index in range(gpus_present)]
    devices = []
    for entry in (part.strip() for part in spec.split(",")):
        if entry == CPU:
            devices.append(WorkerDevice(None))
        elif entry.isdigit() and int(entry) < gpus_present:
            devices.append(WorkerDevice(int(entry)))
        elif entry.isdigit():
            raise DeviceSpecError(
                f"--devices names GPU {entry}, but this host has {gpus_present} "
                f"(indexes 0 to {gpus_present - 1}); use `auto` or `cpu`"
                if gpus_present
                else f"--devices names GPU {entry}, but this host has no GPU; use `cpu`"
            )
        else:
            raise DeviceSpecError(
                f"--devices entry {entry!r} is neither a GPU index nor `cpu` (e.g. `0,1` or `auto`)"
            )
    gpus = [device.gpu for device in devices if device.gpu is not None]
    if len(set(gpus)) != len(gpus):
        raise DeviceSpecError("--devices names a GPU twice; one worker process per GPU")
    return devices


def gpus_present() -> int:
    """GPUs this process may use, counted without creating a CUDA context here."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return 0
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
