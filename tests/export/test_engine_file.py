"""The .engine file format: metadata + plan round trip; foreign, truncated and corrupt files refused."""

import pytest

from inpaint.export import engine_file as E


def _write(tmp_path, plan=b"\x01plan-bytes" * 100):
    path = tmp_path / "m.engine"
    E.write_engine_file(path, plan, {"inpaint.family": "madf", E.KEY_TRT_VERSION: "10.13.0", E.KEY_COMPUTE_CAPABILITY: "8.6"})
    return path, plan


def test_round_trip(tmp_path):
    path, plan = _write(tmp_path)
    header, got = E.read_engine_file(path)
    assert got == plan
    assert header["inpaint.family"] == "madf" and header[E.KEY_PLAN_SHA256]
    assert E.read_engine_header(path) == header
    assert [p.name for p in tmp_path.iterdir()] == ["m.engine"]  # no temporary file left


@pytest.mark.parametrize("damage", ["truncate", "flip", "raw", "append"])
def test_damaged_files_are_refused(tmp_path, damage):
    path, plan = _write(tmp_path)
    data = path.read_bytes()
    if damage == "truncate":
        data = data[:-7]
    elif damage == "flip":
        data = data[:-3] + bytes([data[-3] ^ 0xFF]) + data[-2:]
    elif damage == "raw":
        data = plan  # a trtexec plan without a header
    else:
        data = data + b"x"
    path.write_bytes(data)
    with pytest.raises(E.EngineFileError, match="m.engine"):
        E.read_engine_file(path)


def test_compatibility_names_the_mismatch(tmp_path):
    path, _ = _write(tmp_path)
    header = E.read_engine_header(path)
    E.check_compatible(path, header, "10.13.0", "8.6")
    with pytest.raises(E.EngineFileError, match="TensorRT 10.13.0.*TensorRT 11.1.0"):
        E.check_compatible(path, header, "11.1.0", "8.6")
    with pytest.raises(E.EngineFileError, match="compute capability 8.6.*9.0"):
        E.check_compatible(path, header, "10.13.0", "9.0")
