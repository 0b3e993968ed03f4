"""Tests for approx.data.fashion_mnist: IDX parsing, sources, checksums, the real data.

Parser and loader tests write small IDX files of their own under tmp_path. Nothing here touches
the network: an autouse fixture makes ``urllib.request.urlopen`` fail loudly and turns downloads
off; the download tests serve bytes from memory through a fake ``urlopen``.
"""

import gzip
import hashlib
import io
import struct
import urllib.error
import urllib.request
import urllib.response
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import approx.data
from approx.data import CLASS_NAMES, CLASS_NAMES_ES, DataError, FashionMNIST, load_fashion_mnist
from approx.data import fashion_mnist as fm

REAL_DIR = Path("/usr/share/datasets/fashion-mnist")
needs_real_data = pytest.mark.skipif(
    not all((REAL_DIR / name).is_file() for name in fm.FILE_NAMES),
    reason=f"{REAL_DIR} lacks the official files (sudo apt-get install dataset-fashion-mnist)",
)

# IDX type codes by dtype.
_CODES = {
    np.dtype(d): c
    for d, c in [("u1", 8), ("i1", 9), ("i2", 11), ("i4", 12), ("f4", 13), ("f8", 14)]
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """No test may reach the network or the user's real cache or environment."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted in a test: {args[:1]}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setenv(fm.ENV_NO_DOWNLOAD, "1")
    monkeypatch.delenv(fm.ENV_DATA_DIR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


# --- helpers ----------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    """Serialise an array in IDX format (big-endian)."""
    array = np.asarray(array)
    header = bytes([0, 0, _CODES[array.dtype], array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def fake_arrays(n_train=6, n_test=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        fm.TRAIN_IMAGES: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        fm.TRAIN_LABELS: (np.arange(n_train) % 10).astype(np.uint8),
        fm.TEST_IMAGES: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        fm.TEST_LABELS: (np.arange(n_test)[::-1] % 10).astype(np.uint8),
    }


def write_dataset(directory: Path, arrays=None, *, gz=True) -> dict:
    """Write four IDX files to ``directory``; returns the arrays written."""
    arrays = fake_arrays() if arrays is None else arrays
    directory.mkdir(parents=True, exist_ok=True)
    for base, array in arrays.items():
        write(directory / (base + (".gz" if gz else "")), idx_bytes(array))
    return arrays


def assert_one_line(error: pytest.ExceptionInfo, *fragments: str):
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# --- read_idx ---------------------------------------------------------------------------------

ROUND_TRIP_ARRAYS = {
    "images_u8": np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28),
    "labels_u8": np.array([9, 0, 3, 7, 1], dtype=np.uint8),
    "empty_u8": np.zeros((0, 28, 28), dtype=np.uint8),
    "i2_matrix": np.array([[-300, 2], [3, 32000]], dtype=np.int16),
    "i4_vector": np.array([-(2**31), 2**31 - 1], dtype=np.int32),
    "f8_cube": np.linspace(-1, 1, 8).reshape(2, 2, 2),
}


@pytest.mark.parametrize("suffix", ["", ".gz"], ids=["plain", "gz"])
@pytest.mark.parametrize("name", ROUND_TRIP_ARRAYS)
def test_read_idx_round_trip(tmp_path, name, suffix):
    array = ROUND_TRIP_ARRAYS[name]
    out = fm.read_idx(write(tmp_path / f"x-idx{suffix}", idx_bytes(array)))
    assert out.shape == array.shape
    assert out.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(out, array)


def test_read_idx_magic_of_official_formats(tmp_path):
    images = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    labels = idx_bytes(np.zeros(2, np.uint8))
    assert images[:4] == (0x00000803).to_bytes(4, "big")
    assert labels[:4] == (0x00000801).to_bytes(4, "big")
    assert fm.read_idx(write(tmp_path / "l", labels)).dtype == np.uint8


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    dtype=st.sampled_from(sorted(_CODES, key=str)),
    gz=st.booleans(),
)
def test_read_idx_round_trip_property(tmp_path, shape, dtype, gz):
    array = (np.arange(int(np.prod(shape))) * 37 % 251).astype(dtype).reshape(shape)
    out = fm.read_idx(write(tmp_path / ("p.gz" if gz else "p"), idx_bytes(array)))
    assert out.shape == tuple(shape) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


_LABELS = idx_bytes(np.array([1, 2, 3], dtype=np.uint8))
MALFORMED = {
    # name: (file contents, fragment of the message)
    "empty_file": (b"", "truncated IDX header"),
    "short_magic": (b"\x00\x00", "truncated IDX header"),
    "wrong_type_code": (b"\x00\x00\x07\x01" + _LABELS[4:], "bad IDX magic number 0x00000701"),
    "nonzero_first_bytes": (b"\x01\x00" + _LABELS[2:], "bad IDX magic number 0x01000801"),
    "zero_dimensions": (b"\x00\x00\x08\x00", "bad IDX magic number 0x00000800"),
    "missing_sizes": (b"\x00\x00\x08\x03" + struct.pack(">I", 2), "truncated IDX header"),
    "truncated_payload": (_LABELS[:-1], "truncated IDX data"),
    "trailing_bytes": (_LABELS + b"\x00\x00", "2 bytes of trailing data"),
    "gzip_without_gz_name": (gzip.compress(_LABELS), "name the file *.gz"),
}


# Each case as a plain and a gzip-compressed file, except where a .gz name makes it valid.
_MALFORMED_CELLS = [
    pytest.param(case, suffix, id=f"{case}-{suffix or 'plain'}")
    for case in MALFORMED
    for suffix in ("", ".gz")
    if not (case == "gzip_without_gz_name" and suffix)
]


@pytest.mark.parametrize("case, suffix", _MALFORMED_CELLS)
def test_read_idx_rejects_malformed(tmp_path, case, suffix):
    data, fragment = MALFORMED[case]
    path = write(tmp_path / f"bad-idx1-ubyte{suffix}", data)
    with pytest.raises(DataError) as error:
        fm.read_idx(path)
    assert_one_line(error, str(path), fragment)


_GOOD_GZ = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8)))
CORRUPT_GZIP = {
    "not_gzip": b"this is not gzip data at all",
    "truncated_stream": _GOOD_GZ[: len(_GOOD_GZ) // 2],
    "bad_crc": _GOOD_GZ[:-8] + bytes([_GOOD_GZ[-8] ^ 0xFF]) + _GOOD_GZ[-7:],
    "flipped_deflate_byte": _GOOD_GZ[:20] + bytes([_GOOD_GZ[20] ^ 0x55]) + _GOOD_GZ[21:],
}


@pytest.mark.parametrize("case", CORRUPT_GZIP)
def test_read_idx_corrupt_gzip_is_data_error(tmp_path, case):
    path = tmp_path / "bad-idx1-ubyte.gz"
    path.write_bytes(CORRUPT_GZIP[case])
    with pytest.raises(DataError) as error:
        fm.read_idx(path)
    assert_one_line(error, str(path))
    assert "gzip" in str(error.value) or "IDX" in str(error.value)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataError) as error:
        fm.read_idx(tmp_path / "nope.gz")
    assert_one_line(error, "nope.gz", "not found")


# --- loading from a directory -----------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_load_from_explicit_dir(tmp_path, gz):
    arrays = write_dataset(tmp_path / "d", gz=gz)
    data = load_fashion_mnist(tmp_path / "d", verify=False)
    assert isinstance(data, FashionMNIST)
    assert data.source == str(tmp_path / "d")
    assert data.class_names == CLASS_NAMES
    assert data.x_train.shape == (6, 28, 28) and data.x_train.dtype == np.uint8
    assert data.y_train.shape == (6,) and data.y_train.dtype == np.int32
    assert data.x_test.shape == (4, 28, 28) and data.y_test.dtype == np.int32
    np.testing.assert_array_equal(data.x_train, arrays[fm.TRAIN_IMAGES])
    np.testing.assert_array_equal(data.y_test, arrays[fm.TEST_LABELS])


def test_load_scale(tmp_path):
    arrays = fake_arrays()
    arrays[fm.TRAIN_IMAGES][0, 0, :2] = [0, 255]
    write_dataset(tmp_path, arrays)
    data = load_fashion_mnist(tmp_path, verify=False, scale=True)
    assert data.x_train.dtype == np.float32 and data.x_test.dtype == np.float32
    assert data.x_train[0, 0, 0] == 0.0 and data.x_train[0, 0, 1] == 1.0
    np.testing.assert_allclose(data.x_test, arrays[fm.TEST_IMAGES] / 255.0, rtol=1e-6)


def test_load_mixed_gz_and_plain(tmp_path):
    arrays = write_dataset(tmp_path, gz=True)
    (tmp_path / (fm.TEST_LABELS + ".gz")).unlink()
    write(tmp_path / fm.TEST_LABELS, idx_bytes(arrays[fm.TEST_LABELS]))
    data = load_fashion_mnist(tmp_path, verify=False)
    np.testing.assert_array_equal(data.y_test, arrays[fm.TEST_LABELS])


def test_label_count_mismatch(tmp_path):
    arrays = fake_arrays()
    arrays[fm.TRAIN_LABELS] = arrays[fm.TRAIN_LABELS][:-1]
    write_dataset(tmp_path, arrays)
    with pytest.raises(DataError) as error:
        load_fashion_mnist(tmp_path, verify=False)
    assert_one_line(error, fm.TRAIN_LABELS + ".gz", "5 labels", "6 images")


def test_labels_out_of_range(tmp_path):
    arrays = fake_arrays()
    arrays[fm.TEST_LABELS][1] = 10
    write_dataset(tmp_path, arrays)
    with pytest.raises(DataError) as error:
        load_fashion_mnist(tmp_path, verify=False)
    assert_one_line(error, fm.TEST_LABELS + ".gz", "0..9", "[10]")


@pytest.mark.parametrize(
    "base, array, fragment",
    [
        (fm.TRAIN_IMAGES, np.zeros((6, 27, 28), np.uint8), "(6, 27, 28)"),
        (fm.TRAIN_IMAGES, np.zeros((6, 28, 28), np.int16), "int16"),
        (fm.TEST_LABELS, np.zeros((4, 1), np.uint8), "(4, 1)"),
    ],
    ids=["image_size", "image_dtype", "label_ndim"],
)
def test_wrong_shapes_or_dtypes(tmp_path, base, array, fragment):
    arrays = fake_arrays()
    arrays[base] = array
    write_dataset(tmp_path, arrays)
    with pytest.raises(DataError) as error:
        load_fashion_mnist(tmp_path, verify=False)
    assert_one_line(error, base + ".gz", fragment)


@pytest.mark.parametrize("layout", ["absent", "empty", "three_of_four"])
def test_explicit_data_dir_must_hold_the_files(tmp_path, layout):
    directory = tmp_path / "given"
    if layout != "absent":
        directory.mkdir()
    if layout == "three_of_four":
        write_dataset(directory)
        (directory / (fm.TEST_IMAGES + ".gz")).unlink()
    # REAL_DIR may well hold the data: an explicit directory must still not fall through to it.
    with pytest.raises(DataError) as error:
        load_fashion_mnist(directory, download=True)
    assert_one_line(
        error, str(directory), "sudo apt-get install dataset-fashion-mnist", "data_dir=DIR"
    )
    if layout == "three_of_four":
        assert fm.TEST_IMAGES + ".gz" in str(error.value)
        assert "lacks " + fm.TRAIN_IMAGES not in str(error.value)


def test_checksum_mismatch_names_file_and_hashes(tmp_path):
    arrays = write_dataset(tmp_path)
    with pytest.raises(DataError) as error:
        load_fashion_mnist(tmp_path)  # verify=True by default
    actual = hashlib.sha256(idx_bytes(arrays[fm.TRAIN_IMAGES])).hexdigest()
    expected = fm.SHA256_IDX[fm.TRAIN_IMAGES]
    assert_one_line(error, str(tmp_path / (fm.TRAIN_IMAGES + ".gz")), actual[:16], expected[:16])


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_checksum_match_passes(tmp_path, monkeypatch, gz):
    arrays = write_dataset(tmp_path, gz=gz)
    for base, array in arrays.items():
        monkeypatch.setitem(fm.SHA256_IDX, base, hashlib.sha256(idx_bytes(array)).hexdigest())
    data = load_fashion_mnist(tmp_path, verify=True)
    np.testing.assert_array_equal(data.x_test, arrays[fm.TEST_IMAGES])


# --- source resolution ------------------------------------------------------------------------


@pytest.fixture
def no_system_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "no-system-dir")


def test_env_data_dir_respected(tmp_path, monkeypatch):
    write_dataset(tmp_path / "env")
    monkeypatch.setenv(fm.ENV_DATA_DIR, str(tmp_path / "env"))
    assert load_fashion_mnist(verify=False).source == str(tmp_path / "env")


def test_explicit_dir_beats_env(tmp_path, monkeypatch):
    write_dataset(tmp_path / "env")
    write_dataset(tmp_path / "arg")
    monkeypatch.setenv(fm.ENV_DATA_DIR, str(tmp_path / "env"))
    assert load_fashion_mnist(tmp_path / "arg", verify=False).source == str(tmp_path / "arg")


def test_env_data_dir_must_hold_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv(fm.ENV_DATA_DIR, str(tmp_path / "missing"))
    with pytest.raises(DataError) as error:
        load_fashion_mnist(verify=False)
    assert_one_line(error, str(tmp_path / "missing"), "$APPROX_DATA_DIR", "apt-get")


def test_system_dir_before_cache(tmp_path, monkeypatch):
    write_dataset(tmp_path / "system")
    write_dataset(tmp_path / "xdg-cache" / "approx" / "fashion-mnist")
    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "system")
    assert load_fashion_mnist(verify=False).source == str(tmp_path / "system")


def test_cache_dir_follows_xdg(tmp_path, no_system_dir):
    cache = tmp_path / "xdg-cache" / "approx" / "fashion-mnist"
    write_dataset(cache, gz=False)
    assert load_fashion_mnist(verify=False).source == str(cache)


def test_cache_dir_default_is_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert fm._cache_dir() == tmp_path / "home" / ".cache" / "approx" / "fashion-mnist"


@pytest.mark.parametrize("download", [True, False])
def test_nothing_available_says_how_to_get_it(no_system_dir, download):
    # With download=True, APPROX_NO_DOWNLOAD (set by the autouse fixture) must stop any fetch:
    # the patched urlopen would raise AssertionError, not DataError.
    with pytest.raises(DataError) as error:
        load_fashion_mnist(download=download)
    assert_one_line(
        error,
        "sudo apt-get install dataset-fashion-mnist",
        "data_dir=DIR",
        *fm.FILE_NAMES,
        "APPROX_NO_DOWNLOAD" if download else "download=False",
    )


# --- download (served from memory) ------------------------------------------------------------


@pytest.fixture
def fake_mirror(monkeypatch, no_system_dir):
    """Serve fake .gz files for the mirror's URLs; returns (files by URL, requested URLs)."""
    monkeypatch.delenv(fm.ENV_NO_DOWNLOAD)
    arrays = fake_arrays()
    served = {
        fm.MIRROR_URL + base + ".gz": gzip.compress(idx_bytes(a)) for base, a in arrays.items()
    }
    for url, data in served.items():
        monkeypatch.setitem(fm.SHA256_GZ, url.rsplit("/", 1)[1], hashlib.sha256(data).hexdigest())
    requested = []

    def urlopen(url, timeout=None):
        requested.append(url)
        data = served[url]
        return urllib.response.addinfourl(io.BytesIO(data), {"Content-Length": str(len(data))}, url)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return served, requested


def test_download_into_cache(tmp_path, fake_mirror):
    served, requested = fake_mirror
    data = load_fashion_mnist(verify=False)
    cache = tmp_path / "xdg-cache" / "approx" / "fashion-mnist"
    assert data.source == str(cache)
    assert requested == [fm.MIRROR_URL + name for name in fm.FILE_NAMES]
    assert sorted(p.name for p in cache.iterdir()) == sorted(fm.FILE_NAMES)  # no temp files left
    assert (cache / fm.FILE_NAMES[0]).read_bytes() == served[requested[0]]
    assert data.x_train.shape == (6, 28, 28)


def test_download_with_wrong_hash_keeps_nothing(tmp_path, fake_mirror, monkeypatch):
    monkeypatch.setitem(fm.SHA256_GZ, fm.FILE_NAMES[1], "0" * 64)
    with pytest.raises(DataError) as error:
        load_fashion_mnist(verify=False)
    assert_one_line(error, fm.MIRROR_URL + fm.FILE_NAMES[1], "SHA-256", "0" * 16)
    cache = tmp_path / "xdg-cache" / "approx" / "fashion-mnist"
    assert sorted(p.name for p in cache.iterdir()) == [fm.FILE_NAMES[0]]  # the good one only


def test_download_failure_is_data_error(tmp_path, monkeypatch, no_system_dir):
    monkeypatch.delenv(fm.ENV_NO_DOWNLOAD)

    def unreachable(url, timeout=None):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    with pytest.raises(DataError) as error:
        load_fashion_mnist()
    assert_one_line(error, "download failed", "Name or service not known", "apt-get")
    assert not list((tmp_path / "xdg-cache" / "approx" / "fashion-mnist").iterdir())


# --- in-process cache -------------------------------------------------------------------------


def test_repeated_loads_share_read_only_arrays(tmp_path):
    write_dataset(tmp_path)
    first = load_fashion_mnist(tmp_path, verify=False)
    second = load_fashion_mnist(tmp_path, verify=False)
    assert second.x_train is first.x_train and second.y_test is first.y_test
    with pytest.raises(ValueError):
        first.x_train[0, 0, 0] = 1
    with pytest.raises(ValueError):
        first.y_train[0] = 1


def test_cache_notices_replaced_files(tmp_path):
    write_dataset(tmp_path, fake_arrays(n_train=6))
    assert load_fashion_mnist(tmp_path, verify=False).x_train.shape[0] == 6
    write_dataset(tmp_path, fake_arrays(n_train=8))
    assert load_fashion_mnist(tmp_path, verify=False).x_train.shape[0] == 8


# --- constants and API ------------------------------------------------------------------------


def test_public_api():
    assert sorted(approx.data.__all__) == sorted(
        ["load_fashion_mnist", "FashionMNIST", "DataError", "CLASS_NAMES", "CLASS_NAMES_ES"]
    )
    assert issubclass(DataError, ValueError)


def test_class_names():
    assert CLASS_NAMES == (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    )  # fmt: skip
    assert CLASS_NAMES_ES == (
        "Camiseta/top", "Pantalón", "Jersey", "Vestido", "Abrigo",
        "Sandalia", "Camisa", "Zapatilla", "Bolso", "Botín",
    )  # fmt: skip


def test_checksum_tables_are_complete():
    for table in (fm.MD5_GZ, fm.SHA256_GZ, fm.SHA256_GZ_DEBIAN):
        assert sorted(table) == sorted(fm.FILE_NAMES)
    assert sorted(fm.SHA256_IDX) == sorted(fm.BASE_NAMES)
    for name in fm.FILE_NAMES:
        assert len(fm.MD5_GZ[name]) == 32 and len(fm.SHA256_GZ[name]) == 64


# --- the real data ----------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@needs_real_data
@pytest.mark.parametrize("name", fm.FILE_NAMES)
def test_real_file_checksums(name):
    path = REAL_DIR / name
    assert sha256_file(path) in (fm.SHA256_GZ[name], fm.SHA256_GZ_DEBIAN[name])
    base = name.removesuffix(".gz")
    assert hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest() == fm.SHA256_IDX[base]


# Original gzip MTIMEs of the mirror's files (2017-08-31), found by matching MD5_GZ.
_MIRROR_MTIME = {"train": 1504176606, "t10k": 1504176627}


@needs_real_data
@pytest.mark.parametrize("name", fm.FILE_NAMES)
def test_debian_files_are_the_mirror_streams(name):
    """Restoring the gzip header (FNAME, MTIME) of Debian's file gives the mirror's exact file."""
    data = (REAL_DIR / name).read_bytes()
    if hashlib.sha256(data).hexdigest() != fm.SHA256_GZ_DEBIAN[name]:
        pytest.skip(f"{REAL_DIR / name} is not Debian's repack")
    assert data[3] == 0  # FLG: no FNAME
    mtime = _MIRROR_MTIME[name.split("-")[0]]
    original = (
        data[:3] + b"\x08" + struct.pack("<I", mtime) + data[8:10]
        + name.removesuffix(".gz").encode() + b"\x00" + data[10:]
    )  # fmt: skip
    assert hashlib.sha256(original).hexdigest() == fm.SHA256_GZ[name]
    assert hashlib.md5(original).hexdigest() == fm.MD5_GZ[name]


@pytest.fixture(scope="module")
def real():
    return load_fashion_mnist(REAL_DIR, download=False)


@needs_real_data
def test_real_default_resolution_uses_system_dir():
    data = load_fashion_mnist(download=False)
    assert data.source == str(REAL_DIR)


@needs_real_data
def test_real_shapes_and_dtypes(real):
    assert real.x_train.shape == (60000, 28, 28) and real.x_train.dtype == np.uint8
    assert real.y_train.shape == (60000,) and real.y_train.dtype == np.int32
    assert real.x_test.shape == (10000, 28, 28) and real.x_test.dtype == np.uint8
    assert real.y_test.shape == (10000,) and real.y_test.dtype == np.int32
    assert real.x_train.min() == 0 and real.x_train.max() == 255


@needs_real_data
def test_real_class_balance(real):
    np.testing.assert_array_equal(np.bincount(real.y_train, minlength=10), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(real.y_test, minlength=10), [1000] * 10)
    # The first training and test examples are both ankle boots (the README's sample sprite).
    assert real.class_names[real.y_train[0]] == "Ankle boot"
    assert real.class_names[real.y_test[0]] == "Ankle boot"


@needs_real_data
def test_real_scaled(real):
    scaled = load_fashion_mnist(REAL_DIR, download=False, scale=True)
    for x, raw in ((scaled.x_train, real.x_train), (scaled.x_test, real.x_test)):
        assert x.dtype == np.float32 and x.shape == raw.shape
        assert x.min() == 0.0 and x.max() == 1.0
        np.testing.assert_allclose(x, raw / 255.0, rtol=1e-6)
    assert scaled.y_train is real.y_train
