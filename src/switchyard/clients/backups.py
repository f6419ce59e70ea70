"""Timestamped copies of the client files `connect` changes, and putting them back byte for byte.

A backup is `<user data dir>/backups/<client>/<UTC timestamp>/` with the copies and `manifest.json`, which maps
each copy to the original's absolute path and records files and folders that did not exist before.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from switchyard.clients.files import write_atomically

MANIFEST = "manifest.json"


class BackupError(ValueError):
    pass


@dataclass(frozen=True)
class Change:
    """A client file as it is (None: absent) and as `connect` will write it."""

    path: Path
    before: bytes | None
    after: bytes


@dataclass(frozen=True)
class Backup:
    folder: Path
    manifest: dict[str, Any]

    @property
    def stamp(self) -> str:
        return self.folder.name

    @property
    def files(self) -> list[str]:
        return [entry["original"] for entry in self.manifest["files"]]


def backups_root() -> Path:
    return Path(user_data_dir("switchyard", appauthor=False)) / "backups"


def write_with_backup(client: str, changes: Iterable[Change], root: Path | None = None) -> Backup:
    """Copy every file about to change, then write the changes."""
    changes = list(changes)
    now = datetime.now(UTC)
    base = (root or backups_root()) / client
    folder = base / now.strftime("%Y%m%dT%H%M%SZ")
    number = 2
    while folder.exists():
        folder = base / f"{now.strftime('%Y%m%dT%H%M%SZ')}-{number}"
        number += 1
    folder.mkdir(parents=True)
    files = []
    for index, change in enumerate(changes):
        entry: dict[str, Any] = {"original": str(change.path.absolute()), "copy": None, "created_folders": []}
        if change.before is not None:
            copy = f"{index}-{change.path.name}"
            shutil.copy2(change.path, folder / copy)  # the bytes and the permissions
            entry["copy"] = copy
        else:
            entry["created_folders"] = [str(p) for p in _missing_folders(change.path.parent)]
        files.append(entry)
    manifest = {"client": client, "created": now.isoformat(), "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for change in changes:
        write_atomically(change.path, change.after)
    return Backup(folder, manifest)


def list_backups(client: str, root: Path | None = None) -> list[Backup]:
    """The client's backups, oldest first."""
    base = (root or backups_root()) / client
    found = []
    for folder in sorted(base.iterdir()) if base.is_dir() else []:
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found.append(Backup(folder, manifest))
    return found


def restore(backup: Backup) -> list[str]:
    """Put every file back as it was (remove the ones that did not exist); what was done, one line each."""
    done = []
    for entry in backup.manifest["files"]:
        original = Path(entry["original"])
        if entry["copy"] is not None:
            copy = backup.folder / entry["copy"]
            if not copy.is_file():
                raise BackupError(f"{copy}: the backup copy of {original} is missing")
            write_atomically(original, copy.read_bytes())
            shutil.copymode(copy, original)
            done.append(f"restored {original}")
            continue
        if original.exists():
            original.unlink()
            done.append(f"removed {original} (it did not exist before)")
        for folder in sorted(map(Path, entry["created_folders"]), key=lambda p: len(p.parts), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    return done


def _missing_folders(folder: Path) -> list[Path]:
    missing = []
    while not folder.exists():
        missing.append(folder.absolute())
        folder = folder.parent
    return missing
