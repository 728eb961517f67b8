"""The NVIDIA driver, asked directly through ctypes: is there a CUDA GPU here, which one, which driver.

No torch, no cuda-python: the driver library (``libcuda.so.1`` on Linux, ``nvcuda.dll`` on Windows) ships
with every NVIDIA driver, so this answers in milliseconds wherever a GPU could be used, and says why not
elsewhere. ``--engine auto`` (is TensorRT usable?), ``inpaint doctor`` and the engine builder (the compute
capability an engine is built for) read it.

    info = driver_info()            # cached; DriverInfo(available=True, driver="12.8", gpus=(Gpu(...),))
    info.gpus[0].compute_capability # "8.6"

The calls are the CUDA driver API's (``cuda.h``): ``cuInit``, ``cuDriverGetVersion``, ``cuDeviceGetCount``,
``cuDeviceGet``, ``cuDeviceGetName``, ``cuDeviceGetAttribute``, ``cuDeviceTotalMem_v2``.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from dataclasses import dataclass

__all__ = ["Gpu", "DriverInfo", "driver_info", "probe"]

#: CUdevice_attribute values from cuda.h
_CC_MAJOR, _CC_MINOR = 75, 76
#: CUresult values from cuda.h that have a plain-words meaning for the user
_ERRORS = {
    35: "the NVIDIA driver is older than this CUDA library (CUDA_ERROR_INSUFFICIENT_DRIVER); update the driver",
    100: "the NVIDIA driver sees no CUDA GPU (CUDA_ERROR_NO_DEVICE)",
    999: "the CUDA driver failed to initialise (CUDA_ERROR_UNKNOWN); check nvidia-smi",
}
_LIBRARIES = ("nvcuda.dll",) if sys.platform == "win32" else ("libcuda.so.1", "libcuda.so", "libcuda.dylib")


@dataclass(frozen=True)
class Gpu:
    """One CUDA device. compute_capability: "major.minor" (e.g. "8.6"); memory_mb: total device memory."""

    index: int
    name: str
    compute_capability: str
    memory_mb: int


@dataclass(frozen=True)
class DriverInfo:
    """available: a driver answered and sees at least one GPU. reason: why not (with the fix) otherwise.

    driver: the CUDA version the driver supports, "12.8" ("" when no driver answered).
    """

    available: bool
    reason: str = ""
    driver: str = ""
    gpus: tuple[Gpu, ...] = ()


def _load_driver():
    for name in _LIBRARIES:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def probe(lib=None) -> DriverInfo:
    """Ask the driver library ``lib`` (a loaded ``ctypes.CDLL``; default: find it) what it sees."""
    lib = _load_driver() if lib is None else lib
    if lib is None:
        return DriverInfo(False, "no NVIDIA driver library (libcuda) on this machine; install the NVIDIA driver on a machine with an NVIDIA GPU")
    try:
        status = lib.cuInit(0)
        version = ctypes.c_int(0)
        driver = ""
        if lib.cuDriverGetVersion(ctypes.byref(version)) == 0 and version.value:
            driver = f"{version.value // 1000}.{version.value % 1000 // 10}"
        if status != 0:
            return DriverInfo(False, _ERRORS.get(status, f"cuInit failed with CUresult {status}; check nvidia-smi"), driver)
        count = ctypes.c_int(0)
        if lib.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
            return DriverInfo(False, _ERRORS[100], driver)
        gpus = []
        for index in range(count.value):
            device = ctypes.c_int(0)
            lib.cuDeviceGet(ctypes.byref(device), index)
            name = ctypes.create_string_buffer(256)
            lib.cuDeviceGetName(name, len(name), device)
            major, minor, memory = ctypes.c_int(0), ctypes.c_int(0), ctypes.c_size_t(0)
            lib.cuDeviceGetAttribute(ctypes.byref(major), _CC_MAJOR, device)
            lib.cuDeviceGetAttribute(ctypes.byref(minor), _CC_MINOR, device)
            lib.cuDeviceTotalMem_v2(ctypes.byref(memory), device)
            gpus.append(Gpu(index, name.value.decode(errors="replace"), f"{major.value}.{minor.value}", memory.value >> 20))
    except (AttributeError, OSError) as exc:  # a stub or foreign library without these symbols
        return DriverInfo(False, f"the CUDA driver library cannot be queried ({exc}); reinstall the NVIDIA driver")
    return DriverInfo(True, "", driver, tuple(gpus))


@functools.lru_cache(maxsize=1)
def driver_info() -> DriverInfo:
    """:func:`probe` once per process (the answer does not change while it runs)."""
    return probe()
