"""Child processes that cannot outlive the gateway.

Each backend runs in its own process group (so a launcher such as `npx` or `uvx` and everything it starts can
be signalled at once) with a parent-death signal (so the launcher dies even when the gateway is SIGKILLed);
grandchildren then see EOF on stdin, which MCP servers treat as the end of the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Mapping, Sequence

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


# What a backend inherits from the gateway's environment: what programs need to run, nothing that could be a
# secret meant for another server (the MCP SDK's stdio client makes the same choice). A backend gets anything
# else through its own `env`, e.g. `API_TOKEN: ${API_TOKEN}`.
INHERITED_VARIABLES = (
    (
        "APPDATA",
        "HOMEDRIVE",
        "HOMEPATH",
        "LOCALAPPDATA",
        "PATH",
        "PATHEXT",
        "PROCESSOR_ARCHITECTURE",
        "SYSTEMDRIVE",
        "SYSTEMROOT",
        "TEMP",
        "USERNAME",
        "USERPROFILE",
        "PROGRAMFILES",
    )
    if sys.platform == "win32"
    else ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
)


def child_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The inherited variables plus the server's own, with this interpreter's bin dir on PATH.

    Console scripts installed beside the gateway (e.g. `mcp-server-time`) then resolve even when the
    gateway was started without activating its virtual environment.
    """
    merged = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
    bin_dir = os.path.dirname(sys.executable)
    path = merged.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        merged["PATH"] = os.pathsep.join(p for p in (bin_dir, path) if p)
    merged.update(env)
    return merged


async def spawn(
    command: str, args: Sequence[str], *, env: Mapping[str, str], cwd: str | None, stdout_limit: int
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        command,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_environment(env),
        cwd=cwd,
        start_new_session=True,
        preexec_fn=_die_with_parent,
        limit=stdout_limit,
    )


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def terminate(process: asyncio.subprocess.Process, *, grace: float = 2.0) -> None:
    """Close stdin, then SIGTERM the whole group, then SIGKILL it: the stdio shutdown the spec describes."""
    if process.stdin is not None and not process.stdin.is_closing():
        process.stdin.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), grace / 2)
    if process.returncode is None:
        _signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), grace / 2)
    # Always sweep the group: the launcher may have exited while its children live on.
    _signal_group(process.pid, signal.SIGKILL)
    if process.returncode is None:
        await process.wait()
