"""Uploaded file contents, stored once per content under their SHA-256.

A blob lives at ``<root>/<sha256[:2]>/<sha256>``. Writing happens in two
steps so the slow part stays outside the database lock: :meth:`BlobStore.stage`
copies and hashes into a temporary file, then :meth:`BlobStore.publish`
renames it into place while the caller holds the store's write transaction.
Deletion also happens under that lock, so a blob can never be removed
between being published and being referenced.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BlobStore", "StagedBlob"]

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


@dataclass
class StagedBlob:
    """A blob hashed and, unless already stored, written to a temporary file.

    Attributes
    ----------
    sha256 : str
        Hex digest of the contents.
    size : int
        Length in bytes.
    tmp_path : Path or None
        The temporary copy, or None when the blob was already stored.
    data : bytes or None
        The contents when they came from memory, kept to rewrite the blob if
        it is removed between staging and publishing.
    """

    sha256: str
    size: int
    tmp_path: Path | None
    data: bytes | None = None


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; directories cannot be opened on Windows.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class BlobStore:
    """Content-addressed files under one folder.

    Parameters
    ----------
    root : Path
        Folder holding the blobs; created if missing.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / ".tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        """Return where the blob with this digest lives."""
        return self.root / sha256[:2] / sha256

    def _new_tmp(self) -> Path:
        return self.tmp_dir / f"{secrets.token_hex(8)}.part"

    def stage_bytes(self, data: bytes) -> StagedBlob:
        """Hash ``data`` and write it to a temporary file if not stored yet."""
        sha256 = hashlib.sha256(data).hexdigest()
        if self.path_for(sha256).exists():
            return StagedBlob(sha256, len(data), None, data)

        tmp = self._new_tmp()
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        return StagedBlob(sha256, len(data), tmp, data)

    def stage_file(self, source: Path) -> StagedBlob:
        """Copy ``source`` to a temporary file, hashing it on the way.

        The file is read once, in chunks, so its size is limited by disk
        space rather than memory.

        Raises
        ------
        OSError
            If ``source`` cannot be read.
        """
        digest = hashlib.sha256()
        size = 0
        tmp = self._new_tmp()
        try:
            with open(source, "rb") as src, open(tmp, "wb") as out:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return StagedBlob(digest.hexdigest(), size, tmp)

    def publish(self, staged: StagedBlob) -> Path:
        """Move a staged blob into place; call it under the write transaction.

        Returns
        -------
        Path
            Where the blob now lives.
        """
        final = self.path_for(staged.sha256)
        if final.exists():
            self.discard(staged)
            return final

        final.parent.mkdir(parents=True, exist_ok=True)
        if staged.tmp_path is None:
            # It was stored when staged but has been deleted since.
            assert staged.data is not None
            staged = self.stage_bytes(staged.data)
            if staged.tmp_path is None:
                return final
        os.replace(staged.tmp_path, final)
        _fsync_dir(final.parent)
        return final

    def discard(self, staged: StagedBlob) -> None:
        """Remove a staged blob's temporary file, if any."""
        if staged.tmp_path is not None:
            staged.tmp_path.unlink(missing_ok=True)

    def remove(self, sha256_digests: Iterable[str]) -> None:
        """Delete blobs; call it under the write transaction."""
        for sha256 in sha256_digests:
            path = self.path_for(sha256)
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                # On Windows a file open elsewhere cannot be deleted; it stays
                # as an unreferenced blob that a later delete may collect.
                logger.warning("could not delete dataset file %s: %s", path, exc)
                continue
            with contextlib.suppress(OSError):
                path.parent.rmdir()

    def clean_stale_tmp(self, max_age_s: float = 24 * 3600) -> int:
        """Delete temporary files left by processes that died while uploading.

        Returns
        -------
        int
            How many files were removed.
        """
        cutoff = time.time() - max_age_s
        removed = 0
        for tmp in self.tmp_dir.glob("*.part"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed += 1
            except OSError:
                continue
        if removed:
            logger.info(
                "removed %d stale partial upload(s) in %s", removed, self.tmp_dir
            )
        return removed
