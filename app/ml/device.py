from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DevicePlan:
    """Where training runs and in which precision: CUDA with autocast when present, else CPU."""

    device: torch.device
    autocast_dtype: torch.dtype | None

    @property
    def needs_grad_scaler(self) -> bool:
        return self.autocast_dtype is torch.float16

    @property
    def description(self) -> str:
        precision = (
            str(self.autocast_dtype).removeprefix("torch.") if self.autocast_dtype else "fp32"
        )
        if self.device.type == "cuda":
            return f"cuda ({torch.cuda.get_device_name(self.device)}, {precision})"
        return f"cpu ({precision})"


def plan_device(preference: str = "auto") -> DevicePlan:
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return DevicePlan(torch.device("cpu"), None)
    if not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but CUDA is not available")
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return DevicePlan(torch.device("cuda"), dtype)
