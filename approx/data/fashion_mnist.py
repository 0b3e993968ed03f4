"""Fashion-MNIST: IDX parsing, source resolution, integrity checks, loading.

Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747) is 70,000 grayscale 28x28 images of
Zalando articles in ten classes, 60,000 for training and 10,000 for testing, stored in the IDX
format of LeCun's MNIST (http://yann.lecun.com/exdb/mnist/). Example::

    data = load_fashion_mnist(scale=True)
    data.x_train.shape, data.x_train.dtype  # (60000, 28, 28) float32 in [0, 1]
    data.class_names[data.y_train[0]]       # 'Ankle boot'

Sources are tried in this order, the first complete one wins:

1. the ``data_dir`` argument (the CLI's ``--data-dir``): if given it must hold the files;
2. the ``APPROX_DATA_DIR`` environment variable: if set it must hold the files;
3. Debian's ``/usr/share/datasets/fashion-mnist`` (``apt-get install dataset-fashion-mnist``);
4. the user cache ``$XDG_CACHE_HOME/approx/fashion-mnist`` (default ``~/.cache/...``);
5. a download from the official mirror into that cache, only with ``download=True`` and unless the
   ``APPROX_NO_DOWNLOAD`` environment variable is set to a non-empty value other than ``0``.

A directory may hold each file gzip-compressed (the official ``*.gz`` names) or decompressed
(the same names without ``.gz``).

Integrity: Debian repacks the official ``.gz`` files with the gzip header normalised (file name
dropped, time stamp reset, as ``strip-nondeterminism`` does); the compressed stream and the
decompressed bytes are unchanged, but the ``.gz`` checksums differ from the mirror's. So
``verify=True`` checks the SHA-256 of the *decompressed* IDX bytes (``SHA256_IDX``), which is the
same for the mirror's files, Debian's, any other re-compression and uncompressed copies. Downloads
are also checked against the mirror's ``.gz`` SHA-256 (``SHA256_GZ``) before they are kept.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
import struct
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from approx.errors import InputError

__all__ = [
    "CLASS_NAMES",
    "CLASS_NAMES_ES",
    "DataError",
    "FashionMNIST",
    "load_fashion_mnist",
    "read_idx",
]

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
# Base names (without ``.gz``), in the order train images, train labels, test images, test labels.
BASE_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
FILE_NAMES = tuple(base + ".gz" for base in BASE_NAMES)

# The official mirror (README of github.com/zalandoresearch/fashion-mnist). It serves plain HTTP
# only; integrity rests on the SHA-256 check below, not on the transport.
MIRROR_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

# MD5 of the .gz files as published in the project README.
MD5_GZ = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
# SHA-256 of the .gz files as served by the mirror (sizes 26421880, 29515, 4422102, 5148 bytes).
# The same values are in tensorflow/datasets `url_checksums/fashion_mnist.txt`; they were checked
# here by restoring the original gzip headers of Debian's files, which also reproduces MD5_GZ.
SHA256_GZ = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
# SHA-256 of Debian's repacked .gz files (package dataset-fashion-mnist 0.0~git20200523.55506a9-1):
# the mirror's deflate streams with the gzip FNAME field removed and MTIME set to 2020-06-05.
SHA256_GZ_DEBIAN = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
# SHA-256 of the decompressed IDX files: what ``verify=True`` checks, whatever the packaging.
SHA256_IDX = {
    TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_DATA_DIR = "APPROX_DATA_DIR"
ENV_NO_DOWNLOAD = "APPROX_NO_DOWNLOAD"
_DOWNLOAD_TIMEOUT_S = 60.0

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CLASS_NAMES_ES = (
    "Camiseta/top",
    "Pantalón",
    "Jersey",
    "Vestido",
    "Abrigo",
    "Sandalia",
    "Camisa",
    "Zapatilla",
    "Bolso",
    "Botín",
)
_IMAGE_SHAPE = (28, 28)

_HOW_TO_GET = (
    "get it with `sudo apt-get install dataset-fashion-mnist`, or set data_dir=DIR "
    "to a directory with the four official files " + ", ".join(FILE_NAMES)
)

# IDX type codes (third byte of the magic number); all multi-byte values are big-endian.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DataError(InputError):
    """A data set is missing, unreadable, malformed or not the official one (one-line message)."""


@dataclass(frozen=True, eq=False)  # eq=False: element-wise array == has no single truth value
class FashionMNIST:
    """Fashion-MNIST splits as NumPy arrays.

    Unscaled arrays are shared through an in-process cache and are read-only: copy one before
    changing it in place.

    Attributes:
      x_train: ``(60000, 28, 28)`` images, ``uint8`` in 0..255, or ``float32`` in [0, 1] if scaled.
      y_train: ``(60000,)`` ``int32`` labels in 0..9, indices into ``class_names``.
      x_test: ``(10000, 28, 28)`` images, as ``x_train``.
      y_test: ``(10000,)`` labels, as ``y_train``.
      class_names: the ten official English class names (``CLASS_NAMES``).
      source: the directory the files were read from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped if its name ends in ``.gz``."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        # BadGzipFile is an OSError, so it must be caught before the generic OSError below.
        raise DataError(f"{path}: corrupt gzip data ({_one_line(error)})") from error
    except OSError as error:
        raise DataError(f"{path}: cannot read file ({_one_line(error)})") from error


def _parse_idx(data: bytes, path: Path) -> np.ndarray:
    """Parse IDX bytes: magic ``00 00 TT NN``, then NN big-endian uint32 sizes, then the values."""
    if len(data) < 4:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, need at least 4)")
    magic = int.from_bytes(data[:4], "big")
    if data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES or data[3] == 0:
        hint = (
            "; the data is gzip-compressed, name the file *.gz" if data[:2] == b"\x1f\x8b" else ""
        )
        codes = ", ".join(f"0x{code:02X}" for code in _IDX_DTYPES)
        raise DataError(
            f"{path}: bad IDX magic number 0x{magic:08X}, expected 0x0000TTNN with type code TT "
            f"in {{{codes}}} and NN >= 1 dimensions{hint}"
        )
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{path}: truncated IDX header ({len(data)} bytes, need {header} for {ndim} dimensions)"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected, found = math.prod(dims) * dtype.itemsize, len(data) - header
    if found < expected:
        raise DataError(
            f"{path}: truncated IDX data: shape {dims} needs {expected} bytes, found {found}"
        )
    if found > expected:
        raise DataError(
            f"{path}: {found - expected} bytes of trailing data after the {expected} bytes "
            f"of shape {dims}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array if dtype.isnative else array.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (gzip-compressed if its name ends in ``.gz``) into an array.

    The format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian magic number
    ``0x0000TTNN`` with type code ``TT`` (``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16, ``0x0C``
    int32, ``0x0D`` float32, ``0x0E`` float64) and ``NN`` dimensions, then ``NN`` big-endian uint32
    sizes, then exactly ``prod(sizes)`` values in C order. Fashion-MNIST's images are
    ``0x00000803`` (uint8, ``(n, 28, 28)``) and its labels ``0x00000801`` (uint8, ``(n,)``).

    Returns:
      An array of shape ``sizes`` in native byte order; uint8 data comes back as a read-only view.

    Raises:
      DataError: the file is missing, unreadable, not valid gzip, has a bad magic number, or its
        payload is shorter or longer than its sizes say.
    """
    path = Path(path)
    return _parse_idx(_read_bytes(path), path)


def _cache_dir() -> Path:
    """``$XDG_CACHE_HOME/approx/fashion-mnist``, ``~/.cache`` when unset or relative (XDG spec)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "approx" / "fashion-mnist"


def _find_files(directory: Path) -> tuple[dict[str, Path], list[str]]:
    """Map each base name to ``directory/base.gz`` or, failing that, ``directory/base``."""
    found, missing = {}, []
    for base in BASE_NAMES:
        for candidate in (directory / (base + ".gz"), directory / base):
            if candidate.is_file():
                found[base] = candidate
                break
        else:
            missing.append(base + ".gz")
    return found, missing


def _require_files(directory: Path, origin: str) -> dict[str, Path]:
    """The four files in a directory the user named; a DataError if it lacks any."""
    if not directory.is_dir():
        raise DataError(f"{directory}: {origin} is not a directory; {_HOW_TO_GET}")
    found, missing = _find_files(directory)
    if missing:
        raise DataError(
            f"{directory}: {origin} lacks {', '.join(missing)} (or the same without .gz); "
            f"{_HOW_TO_GET}"
        )
    return found


def _download_disabled() -> bool:
    return os.environ.get(ENV_NO_DOWNLOAD, "") not in ("", "0")


def _progress_bar(total: int | None, name: str):
    """A tqdm bar on an interactive stderr; None otherwise (logs and CI stay clean)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm  # imported here: only interactive downloads need it

    return tqdm(total=total, unit="B", unit_scale=True, desc=name, leave=False)


def _fetch(url: str, target: Path, sha256: str) -> None:
    """Download ``url`` to ``target``: a temp file in the same directory, renamed after its hash."""
    temp, bar = None, None
    try:
        fd, temp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
        temp = Path(temp_name)
        digest = hashlib.sha256()
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response,
        ):
            length = response.headers.get("Content-Length")
            bar = _progress_bar(int(length) if length else None, target.name)
            while chunk := response.read(1 << 16):
                out.write(chunk)
                digest.update(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        actual = digest.hexdigest()
        if actual != sha256:
            raise DataError(
                f"{url}: downloaded SHA-256 {actual[:16]}... does not match the official "
                f"{sha256[:16]}...; download discarded"
            )
        os.replace(temp, target)  # atomic: the cache never holds a partial or unverified file
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise DataError(f"{url}: download failed ({_one_line(reason)}); {_HOW_TO_GET}") from error
    finally:
        if bar is not None:
            bar.close()
        if temp is not None:
            temp.unlink(missing_ok=True)


def _download(directory: Path) -> dict[str, Path]:
    """Fetch the official files missing from ``directory`` from the mirror."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(
            f"{directory}: cannot create cache directory ({_one_line(error)})"
        ) from error
    for name in FILE_NAMES:
        if not (directory / name).is_file():
            _fetch(MIRROR_URL + name, directory / name, SHA256_GZ[name])
    return _find_files(directory)[0]


def _resolve(data_dir: str | os.PathLike[str] | None, download: bool) -> tuple[Path, dict]:
    """The directory to load from and its four files, trying the sources in documented order."""
    if data_dir is not None:
        directory = Path(data_dir).expanduser()
        return directory, _require_files(directory, "data_dir")
    env_dir = os.environ.get(ENV_DATA_DIR)
    if env_dir:
        directory = Path(env_dir).expanduser()
        return directory, _require_files(directory, f"${ENV_DATA_DIR}")
    looked = []
    for directory in (SYSTEM_DIR, _cache_dir()):
        found, missing = _find_files(directory)
        if not missing:
            return directory, found
        looked.append(str(directory))
    if download and not _download_disabled():
        return _cache_dir(), _download(_cache_dir())
    why = f"${ENV_NO_DOWNLOAD} is set" if download else "download=False"
    raise DataError(f"Fashion-MNIST not found in {' or '.join(looked)} ({why}); {_HOW_TO_GET}")


def _check_pair(images: np.ndarray, labels: np.ndarray, image_path: Path, label_path: Path):
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != _IMAGE_SHAPE:
        raise DataError(
            f"{image_path}: expected uint8 images of shape (n, 28, 28), "
            f"got {images.dtype} {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(
            f"{label_path}: expected uint8 labels of shape (n,), got {labels.dtype} {labels.shape}"
        )
    if len(labels) != len(images):
        raise DataError(
            f"{label_path}: {len(labels)} labels, but {image_path.name} holds {len(images)} images"
        )
    if len(labels) and labels.max() >= len(CLASS_NAMES):
        bad = np.unique(labels[labels >= len(CLASS_NAMES)])
        raise DataError(
            f"{label_path}: labels must be in 0..{len(CLASS_NAMES) - 1}, found {bad.tolist()[:5]}"
        )


@functools.lru_cache(maxsize=4)
def _load_arrays(files: tuple[tuple[str, str], ...], stamp: tuple, verify: bool) -> tuple:
    """Read, check and return ``(x_train, y_train, x_test, y_test)``, all read-only.

    ``stamp`` (sizes and modification times) is only part of the cache key, so that a file
    replaced on disk is read again.
    """
    paths = {base: Path(path) for base, path in files}
    arrays = {}
    for base, path in paths.items():
        data = _read_bytes(path)
        if verify:
            actual = hashlib.sha256(data).hexdigest()
            if actual != SHA256_IDX[base]:
                raise DataError(
                    f"{path}: SHA-256 of the IDX data is {actual[:16]}..., expected "
                    f"{SHA256_IDX[base][:16]}... (not the official file; verify=False skips this)"
                )
        arrays[base] = _parse_idx(data, path)
    for images, labels in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        _check_pair(arrays[images], arrays[labels], paths[images], paths[labels])
    result = []
    for base in BASE_NAMES:
        array = arrays[base] if "images" in base else arrays[base].astype(np.int32)
        array.flags.writeable = False  # shared by every caller through the cache
        result.append(array)
    return tuple(result)


def load_fashion_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    scale: bool = False,
    download: bool = True,
    verify: bool = True,
) -> FashionMNIST:
    """Load Fashion-MNIST from the first available source (see the module docstring).

    Args:
      data_dir: a directory with the four official files (``.gz`` or decompressed). If given, it
        is the only source tried.
      scale: return images as ``float32`` ``x / 255`` in [0, 1] instead of ``uint8`` 0..255.
      download: allow fetching the files from the official mirror into the user cache when no
        local copy exists (also off when ``$APPROX_NO_DOWNLOAD`` is set).
      verify: check the SHA-256 of each file's decompressed bytes against the official data.

    Returns:
      A ``FashionMNIST``; parsed arrays are cached in-process, so repeated loads are cheap.

    Raises:
      DataError: no source holds the data, or a file is unreadable, malformed or not official.
    """
    directory, found = _resolve(data_dir, download)
    try:
        stamp = tuple(
            (found[base].stat().st_size, found[base].stat().st_mtime_ns) for base in BASE_NAMES
        )
    except OSError as error:
        raise DataError(f"{directory}: cannot read files ({_one_line(error)})") from error
    files = tuple((base, str(found[base].resolve())) for base in BASE_NAMES)
    x_train, y_train, x_test, y_test = _load_arrays(files, stamp, bool(verify))
    if scale:
        x_train = x_train.astype(np.float32) / np.float32(255)  # 255/255 is exactly 1
        x_test = x_test.astype(np.float32) / np.float32(255)
    return FashionMNIST(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=CLASS_NAMES,
        source=str(directory),
    )
