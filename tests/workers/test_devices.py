import pytest

from workers.devices import DeviceSpecError, WorkerDevice, parse_devices


@pytest.mark.parametrize(
    ("spec", "gpus", "expected"),
    [
        ("auto", 0, [None]),
        ("auto", 2, [0, 1]),
        ("cpu", 4, [None]),
        ("cpu,cpu", 0, [None, None]),
        ("1, 3", 4, [1, 3]),
        ("0,cpu", 1, [0, None]),
    ],
)
def test_devices_name_one_training_process_each(
    spec: str, gpus: int, expected: list[int | None]
) -> None:
    assert [device.gpu for device in parse_devices(spec, gpus)] == expected


@pytest.mark.parametrize(
    ("spec", "gpus", "message"),
    [
        ("0", 0, "has no GPU; use `cpu`"),
        ("2", 2, r"has 2 \(indexes 0 to 1\)"),
        ("0,0", 2, "names a GPU twice"),
        ("gpu0", 1, "neither a GPU index nor `cpu`"),
    ],
)
def test_devices_that_cannot_be_had_are_refused_saying_why(
    spec: str, gpus: int, message: str
) -> None:
    with pytest.raises(DeviceSpecError, match=message):
        parse_devices(spec, gpus)


def test_each_worker_process_sees_only_its_own_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert WorkerDevice(1).environment() == {"CUDA_VISIBLE_DEVICES": "1", "ADAPTD_DEVICE": "cuda"}
    assert WorkerDevice(None).environment() == {"CUDA_VISIBLE_DEVICES": "", "ADAPTD_DEVICE": "cpu"}


def test_a_gpu_index_counts_among_the_gpus_the_host_process_was_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    assert WorkerDevice(1).environment()["CUDA_VISIBLE_DEVICES"] == "6"
