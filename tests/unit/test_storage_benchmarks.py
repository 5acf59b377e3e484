"""Storage benchmarks (fio, DataLoader, checkpoint) run for real, and the fio JSON importer.

The benchmarks run through ``measure()`` with tiny parameters on CPU; the importer is
checked against fio 3.33 output captured on the dev machine (``tests/data/fio/``), with
golden values read off those files by hand.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ci import need
from fleetwise.collect.benchmarks import storage
from fleetwise.collect.benchmarks.base import registry
from fleetwise.collect.importers import fio as fio_json
from fleetwise.collect.worker import measure
from fleetwise.errors import InputError

FIO_DATA = Path(__file__).resolve().parents[1] / "data" / "fio"
RANDREAD = FIO_DATA / "randread-4k-libaio-direct.json"
RANDWRITE_2JOBS = FIO_DATA / "randwrite-4k-libaio-direct-2jobs.json"
WRITE_NOTE = FIO_DATA / "write-1m-psync-buffered-note.txt"


@pytest.fixture
def _fio_installed() -> None:
    need(shutil.which("fio") is not None, "fio is not installed")


needs_fio = pytest.mark.usefixtures("_fio_installed")


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def run(tmp_path: Path, benchmark: str, params: dict[str, Any], repeat: int = 2) -> dict[str, Any]:
    spec = {
        "benchmark": benchmark,
        "params": params,
        "workdir": str(tmp_path / "work"),
        "repeat": repeat,
        "warmup": 0,
    }
    return measure(spec)


def metrics_of(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in result["metrics"]}


def assert_positive(result: dict[str, Any], units: dict[str, str], n: int = 2) -> None:
    assert result["status"] == "ok", result["error"]
    got = metrics_of(result)
    assert {name: got[name]["unit"] for name in got} == units
    for m in got.values():
        assert len(m["samples"]) == n
        assert all(math.isfinite(v) and v > 0 for v in m["samples"]), m


def test_storage_benchmarks_are_registered() -> None:
    names = {"storage.fio", "storage.dataloader", "storage.checkpoint"}
    found = {name: cls for name, cls in registry().items() if name in names}
    assert set(found) == names
    assert all(cls.layer == "storage" for cls in found.values())


# --- storage.fio ---------------------------------------------------------------------------

FIO_UNITS = {"bw": "MB/s", "iops": "IO/s", "clat_p50": "us", "clat_p99": "us"}


@needs_fio
def test_fio_direct_randread(tmp_path: Path) -> None:
    result = run(tmp_path, "storage.fio", {"size": "8M", "runtime_s": 1, "iodepth": 4})
    assert_positive(result, FIO_UNITS)
    params = result["params"]
    version = subprocess.run(["fio", "--version"], capture_output=True, text=True).stdout
    assert params["fio_version"] == version.strip()
    assert params["fio_version"].startswith("fio-")
    assert params["ioengine"] in {"libaio", "psync"}
    assert "--time_based=1" in params["fio_args"]
    assert "--output-format=json" in params["fio_args"]
    m = metrics_of(result)
    for p50, p99 in zip(m["clat_p50"]["samples"], m["clat_p99"]["samples"], strict=True):
        assert p50 <= p99
    # bw and IOPS describe the same I/Os: bw = iops * bs (to fio's rounding of runtime)
    for bw, iops in zip(m["bw"]["samples"], m["iops"]["samples"], strict=True):
        assert bw == pytest.approx(iops * 4096 / 1e6, rel=0.01)
    assert not list((tmp_path / "work").glob("fleetwise-fio-*")), "test files left behind"


@needs_fio
def test_fio_buffered_read_is_one_cold_pass(tmp_path: Path) -> None:
    params = {"rw": "read", "bs": "1M", "size": "8M", "direct": False, "ioengine": "psync"}
    result = run(tmp_path, "storage.fio", params)
    assert_positive(result, FIO_UNITS)
    resolved = result["params"]
    assert resolved["direct"] is False
    assert resolved["page_cache"].startswith("dropped before each sample")
    assert not any(a.startswith("--time_based") for a in resolved["fio_args"])
    assert result["calibration"]["timer"].startswith("fio, one pass")


@needs_fio
def test_fio_falls_back_to_buffered_when_o_direct_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tmpfs accepts O_DIRECT since Linux 6.6, so the refusal is simulated at the probe.
    monkeypatch.setattr(storage, "supports_o_direct", lambda directory: False)
    params = {"rw": "write", "bs": "1M", "size": "4M", "runtime_s": 0.5, "iodepth": 8}
    result = run(tmp_path, "storage.fio", params)
    assert_positive(result, FIO_UNITS)
    resolved = result["params"]
    assert resolved["direct"] is False
    assert "--direct=0" in resolved["fio_args"]
    # buffered writes are flushed inside fio's runtime, once per pass over the 4-block file
    assert "--fdatasync=4" in resolved["fio_args"]
    assert "--end_fsync=1" in resolved["fio_args"]
    assert any("O_DIRECT refused" in note for note in result["notes"])


@needs_fio
def test_fio_psync_caps_iodepth(tmp_path: Path) -> None:
    params = {"size": "4M", "runtime_s": 0.3, "ioengine": "psync", "iodepth": 8}
    result = run(tmp_path, "storage.fio", params, repeat=1)
    assert result["status"] == "ok", result["error"]
    assert result["params"]["iodepth"] == 1
    assert any("iodepth capped at 1" in note for note in result["notes"])


def test_fio_missing_binary_is_skipped_with_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = run(tmp_path, "storage.fio", {"size": "8M"})
    assert result["status"] == "skipped"
    assert result["error"] == "fio not found: install it (Debian: apt-get install fio)"
    assert all(m["samples"] == [] for m in result["metrics"])


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"rw": "randrw"}, "rw"),
        ({"rw": "trim"}, "rw"),
        ({"bs": "4kb"}, "bs"),
        ({"size": "-1M"}, "size"),
        ({"bs": "1M", "size": "4k"}, "params"),
        ({"runtime_s": 0}, "runtime_s"),
        ({"iodepth": 0}, "iodepth"),
        ({"ioengine": "spdk"}, "ioengine"),
        ({"blocksize": "4k"}, "blocksize"),
    ],
)
def test_fio_rejects_bad_params(tmp_path: Path, params: dict[str, Any], key: str) -> None:
    with pytest.raises(InputError, match=rf"storage\.fio: parameter '{key}'"):
        run(tmp_path, "storage.fio", params)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4096", 4096),
        ("4k", 4096),
        ("4K", 4096),
        ("1M", 1 << 20),
        ("64m", 64 << 20),
        ("2G", 2 << 30),
    ],
)
def test_fio_size_bytes_uses_fio_kb_base_1024(text: str, size: int) -> None:
    assert storage.fio_size_bytes(text) == size


def test_drop_page_cache_evicts_the_file(tmp_path: Path) -> None:
    fincore = shutil.which("fincore")
    need(fincore is not None, "fincore (util-linux) not installed")
    assert fincore is not None
    path = tmp_path / "blob"
    path.write_bytes(b"\x5a" * (1 << 20))
    assert path.read_bytes()[:1] == b"\x5a"  # pages now cached (and dirty)

    def resident() -> int:
        cmd = [fincore, "--bytes", "--noheadings", "--output", "RES", str(path)]
        return int(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)

    assert resident() > 0
    assert storage.drop_page_cache(path) is True
    assert resident() == 0


def test_o_direct_probe_agrees_with_dd_and_cleans_up(tmp_path: Path) -> None:
    # coreutils dd writes one page with O_DIRECT: an independent answer to the same question.
    probe = tmp_path / "dd-probe"
    dd = subprocess.run(
        ["dd", "if=/dev/zero", f"of={probe}", "bs=4096", "count=1", "oflag=direct"],
        capture_output=True,
        check=False,
    )
    probe.unlink(missing_ok=True)
    assert storage.supports_o_direct(tmp_path) is (dd.returncode == 0), dd.stderr
    assert list(tmp_path.iterdir()) == []


# --- storage.dataloader --------------------------------------------------------------------

LOADER_UNITS = {"samples_per_s": "samples/s", "mb_per_s": "MB/s"}
TINY_LOADER = {"files": 12, "file_kb": 4, "batch_size": 4}


@pytest.mark.parametrize("num_workers", [0, 1])
def test_dataloader_cold_epoch(tmp_path: Path, num_workers: int) -> None:
    result = run(tmp_path, "storage.dataloader", {**TINY_LOADER, "num_workers": num_workers})
    assert_positive(result, LOADER_UNITS)
    params = result["params"]
    # each .npy file: 4 KiB of float32 + numpy's 128-byte format-1.0 header
    assert params["bytes_per_epoch"] == 12 * (4096 + 128)
    assert params["page_cache"].startswith("dropped before each epoch")
    assert params["persistent_workers"] is False
    m = metrics_of(result)
    for sps, mbps in zip(m["samples_per_s"]["samples"], m["mb_per_s"]["samples"], strict=True):
        assert mbps == pytest.approx(sps * (4096 + 128) / 1e6)
    assert not list((tmp_path / "work" / "dataloader").glob("*.npy"))


def test_dataloader_warm_persistent_workers(tmp_path: Path) -> None:
    params = {
        **TINY_LOADER,
        "num_workers": 1,
        "persistent_workers": True,
        "cache": "warm",
        "prefetch_factor": 4,
    }
    result = run(tmp_path, "storage.dataloader", params)
    assert_positive(result, LOADER_UNITS)
    assert result["params"]["page_cache"] == "warm"
    assert result["params"]["prefetch_factor"] == 4


def test_dataloader_prefetch_needs_workers() -> None:
    from pydantic import ValidationError

    from fleetwise.collect.benchmarks.storage import DataLoaderBench

    with pytest.raises(ValidationError, match="prefetch_factor needs num_workers"):
        DataLoaderBench.Params(num_workers=0, prefetch_factor=2)


def test_dataloader_pin_memory_records_whether_it_applied(tmp_path: Path) -> None:
    params = {**TINY_LOADER, "num_workers": 0, "pin_memory": True}
    result = run(tmp_path, "storage.dataloader", params)
    assert_positive(result, LOADER_UNITS)
    assert result["params"]["pin_memory"] is True
    if not _cuda():
        assert result["params"]["pin_memory_applied"] is False
        assert any("ran unpinned" in note for note in result["notes"])


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda(), reason="needs CUDA")
def test_dataloader_pin_memory_applies_on_gpu(tmp_path: Path) -> None:
    params = {**TINY_LOADER, "num_workers": 1, "pin_memory": True}
    result = run(tmp_path, "storage.dataloader", params)
    assert_positive(result, LOADER_UNITS)
    assert result["params"]["pin_memory_applied"] is True


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"persistent_workers": True, "num_workers": 0}, "params"),
        ({"cache": "hot"}, "cache"),
        ({"num_workers": -1}, "num_workers"),
    ],
)
def test_dataloader_rejects_bad_params(tmp_path: Path, params: dict[str, Any], key: str) -> None:
    with pytest.raises(InputError, match=rf"storage\.dataloader: parameter '{key}'"):
        run(tmp_path, "storage.dataloader", params)


# --- storage.checkpoint --------------------------------------------------------------------


def test_checkpoint_save_and_cold_load_on_cpu(tmp_path: Path) -> None:
    result = run(tmp_path, "storage.checkpoint", {"size_mb": 2, "tensors": 4, "device": "cpu"})
    assert_positive(result, {"save": "GB/s", "load": "GB/s"})
    params = result["params"]
    # 2 MB over 4 tensors: 125,000 float32 each -> 122 rows of 1024 columns
    assert params["tensor_shape"] == [122, 1024]
    assert params["tensor_bytes"] == 4 * 122 * 1024 * 4
    assert params["file_bytes"] > params["tensor_bytes"]
    assert params["page_cache"].startswith("dropped before load")
    assert not list((tmp_path / "work").glob("*.pt"))


def test_checkpoint_on_cuda_without_gpu_is_skipped(tmp_path: Path) -> None:
    if _cuda():
        pytest.skip("a GPU is present")
    result = run(tmp_path, "storage.checkpoint", {"size_mb": 1, "device": "cuda"})
    assert result["status"] == "skipped"
    assert "needs a CUDA GPU" in result["error"]


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda(), reason="needs CUDA")
def test_checkpoint_on_cuda(tmp_path: Path) -> None:
    result = run(tmp_path, "storage.checkpoint", {"size_mb": 8, "device": "cuda"})
    assert_positive(result, {"save": "GB/s", "load": "GB/s"})
    assert result["params"]["device"] == "cuda"


def test_checkpoint_rejects_unknown_device(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"parameter 'device'"):
        run(tmp_path, "storage.checkpoint", {"device": "tpu"})


# --- fio JSON importer ---------------------------------------------------------------------


def test_parse_randread_fixture_golden() -> None:
    report = fio_json.parse(RANDREAD)
    assert report.fio_version == "fio-3.33"
    assert report.preamble == ""
    assert report.source == str(RANDREAD)
    [job] = report.jobs
    assert (job.name, job.error) == ("randread-4k", 0)
    assert set(job.directions) == {"read"}  # write and trim did no I/O
    read = job.directions["read"]
    assert read.bw_bytes_per_s == 150328519.0
    assert read.iops == 36701.298701
    assert read.io_bytes == 150478848
    assert read.total_ios == 36738
    assert read.runtime_s == 1.001
    assert read.clat_mean_us == pytest.approx(102.116227231)
    assert read.lat_mean_us == pytest.approx(108.614764222)
    assert read.clat_p50_us == 97.792
    assert read.clat_p90_us == 107.008
    assert read.clat_p99_us == 325.632
    assert read.clat_p999_us == 1155.072
    assert len(read.clat_percentiles_us) == 17
    assert read.clat_percentiles_us[99.99] == 2899.968
    # fio's bw_bytes is io_bytes over runtime, truncated: the fields agree
    assert read.io_bytes * 1000 // round(read.runtime_s * 1000) == read.bw_bytes_per_s


def test_parse_skips_warnings_before_the_json() -> None:
    report = fio_json.parse(WRITE_NOTE)
    assert report.preamble.startswith("note: both iodepth >= 1 and synchronous I/O engine")
    write = report.jobs[0].directions["write"]
    assert write.bw_bytes_per_s == 2017619289.0
    assert write.iops == 1924.151697
    assert (write.clat_p50_us, write.clat_p99_us) == (142.336, 203.776)


def test_parse_group_reported_jobs_as_one() -> None:
    report = fio_json.parse(RANDWRITE_2JOBS)
    [job] = report.jobs
    write = job.directions["write"]
    assert (write.bw_bytes_per_s, write.iops, write.total_ios) == (363361438.0, 88711.288711, 88800)
    assert (write.clat_p50_us, write.clat_p999_us) == (166.912, 577.536)


def test_parse_fio2_layout_in_microseconds_and_kib() -> None:
    # Shape of fio 2.x's JSON writer (stat.c, add_ddir_status_json): clat/lat in usec,
    # io_bytes and bw in KiB, percentile list padded with "0.00": 0. Hand-written.
    zero = {"min": 0, "max": 0, "mean": 0.0, "stddev": 0.0, "percentile": {"0.00": 0}}
    doc = {
        "fio version": "fio-2.2.10",
        "jobs": [
            {
                "jobname": "old",
                "groupid": 0,
                "error": 0,
                "read": {
                    "io_bytes": 4096,
                    "bw": 40960,
                    "iops": 10240,
                    "runtime": 100,
                    "clat": {
                        "min": 50,
                        "max": 400,
                        "mean": 90.5,
                        "stddev": 3.0,
                        "percentile": {
                            "1.000000": 60,
                            "50.000000": 88,
                            "90.000000": 100,
                            "99.000000": 150,
                            "99.900000": 300,
                            "0.00": 0,
                        },
                    },
                    "lat": {"min": 55, "max": 410, "mean": 95.0, "stddev": 3.1},
                },
                "write": {"io_bytes": 0, "bw": 0, "iops": 0, "runtime": 0, "clat": zero},
            }
        ],
    }
    report = fio_json.parse_text(json.dumps(doc))
    read = report.jobs[0].directions["read"]
    assert set(report.jobs[0].directions) == {"read"}
    assert read.io_bytes == 4096 * 1024
    assert read.bw_bytes_per_s == 40960 * 1024
    assert read.total_ios is None
    assert (read.clat_p50_us, read.clat_p90_us, read.clat_p99_us) == (88.0, 100.0, 150.0)
    assert read.clat_p999_us == 300.0
    assert read.clat_mean_us == 90.5
    assert read.lat_mean_us == 95.0
    assert 0.0 not in read.clat_percentiles_us


def test_sniff() -> None:
    assert all(fio_json.sniff(p) for p in (RANDREAD, RANDWRITE_2JOBS, WRITE_NOTE))
    assert not fio_json.sniff(Path(__file__))
    assert not fio_json.sniff(FIO_DATA / "does-not-exist.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"fio: unrecognized option '--bogus'\n", "no JSON object found"),
        (RANDREAD.read_bytes()[:1500], "truncated or corrupt"),
        (b'{"fio version": "fio-3.33", "timestamp": 1}', "no 'jobs' list"),
        (b'{"fio version": "fio-3.33", "jobs": []}', "empty 'jobs' list"),
        (b"[1, 2, 3]", "no JSON object found"),
        (b'{"jobs": [{"jobname": "x", "read": {"io_bytes": 1}}]}', "no 'clat_ns'"),
    ],
)
def test_bad_input_names_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "out.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        fio_json.parse(path)
    assert str(path) in str(info.value)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read fio output") as info:
        fio_json.parse(tmp_path / "nope.json")
    assert "nope.json" in str(info.value)


def test_non_monotone_percentiles_are_rejected() -> None:
    doc = json.loads(RANDREAD.read_text())
    doc["jobs"][0]["read"]["clat_ns"]["percentile"]["99.000000"] = 1
    with pytest.raises(InputError, match="not monotone"):
        fio_json.parse_text(json.dumps(doc), source="edited.json")
