"""Tool-definition pinning: a tool's definition is pinned the first time it is seen, and a later change is held
back until someone approves it; a tool the poisoning scan flags is held from the start.

`Pinning` sits between a backend's listing and the catalogue: `screen` returns the tools clients may see and
remembers which ones it holds back, so that `PinGuard` (a pipeline policy) can answer a call to one with
TOOL_QUARANTINED in a dictionary lookup. Pins live in memory; they are read from the registry once when it is
attached, written off the hot path, and re-read when another process (the CLI, the admin API) changes them.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio

from switchyard.config import PinningConfig
from switchyard.errors import GatewayError, Reason
from switchyard.pipeline.base import Call, Handler
from switchyard.registry.canonical import content_hash
from switchyard.registry.records import AuditRecord, Pin
from switchyard.security.printable import escape
from switchyard.security.scan import Finding, Scanner, blocking

if TYPE_CHECKING:
    from switchyard.registry import Store

log = logging.getLogger("switchyard.pinning")

PinKey = tuple[str, str]
# What a pin covers: everything of a tool that a model reads or that changes how it is called.
PINNED_FIELDS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")
POLL_INTERVAL = 1.0  # seconds between checks for pins changed by another process (an approval)
SAVE_LIMIT = 10.0  # seconds one batch of pin writes may take, even at shutdown

# Audit reasons of pin events (the reasons calls are refused with are errors.Reason values).
PIN_MISMATCH = "pin_mismatch"
POISONING_REPORTED = "poisoning_reported"  # scan: report lets a flagged tool through, and says so


def definition_hash(definition: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the pinned fields of a tool definition."""
    return content_hash({key: definition[key] for key in PINNED_FIELDS if key in definition})


@dataclass(frozen=True, slots=True)
class Hold:
    """A tool held back from clients, and what a call to it is told."""

    server: str
    tool: str
    reason: Reason  # DEFINITION_CHANGED | POISONING_SUSPECTED | PENDING_APPROVAL
    rules: tuple[str, ...]  # the scan rules that matched, if any

    def error(self, public_name: str) -> GatewayError:
        messages = {
            Reason.DEFINITION_CHANGED: "its definition changed since it was approved",
            Reason.POISONING_SUSPECTED: "its description looks like an attempt to instruct the model",
            Reason.PENDING_APPROVAL: "it waits for approval",
        }
        return GatewayError(
            self.reason,
            f"Tool {public_name} is quarantined: {messages[self.reason]} (switchyard pins diff {self.server}:"
            f"{escape(self.tool)})",
            audit_reason=PIN_MISMATCH if self.reason is Reason.DEFINITION_CHANGED else self.reason.value,
            detail=",".join(self.rules) or None,
            name=public_name,
        )


class Pinning:
    """The pins of every backend tool, and the tools currently held back."""

    def __init__(
        self,
        config: PinningConfig,
        *,
        audit: Callable[[AuditRecord], None],
        public_names: Callable[[str, str], Iterable[str]],
    ) -> None:
        self.config = config
        self._audit = audit
        self._public_names = public_names  # what a client would call (server, tool) by
        self._pins: dict[PinKey, Pin] = {}
        self._holds: dict[str, Hold] = {}  # public name -> hold
        self._held_names: dict[str, set[str]] = {}  # server -> its held public names
        self._flagged_servers: dict[str, list[Finding]] = {}
        self._unsaved: dict[PinKey, Pin] = {}
        self._wakeup = anyio.Event()
        self._store: Store | None = None
        self._loaded = anyio.Event()
        self._loaded.set()  # in memory only until a registry is attached
        self._rescreen: Callable[[], None] = lambda: None

    # -- what the gateway asks ------------------------------------------------------------------------------

    def screen(self, server: str, tools: list[dict[str, Any]], scanner: Scanner) -> list[dict[str, Any]]:
        """The tools of `server` that clients may see (in the same order): pinned ones as approved, changed ones
        held back (or replaced by their approved definition under `on_change: keep_pinned`), flagged new ones
        held back. Until the registry's pins are loaded nothing is served: a changed tool must not slip out."""
        self.forget_holds(server)
        if not self._loaded.is_set():
            return []
        served: list[dict[str, Any]] = []
        held: set[str] = set()
        for tool in tools:
            name = tool.get("name")
            if not isinstance(name, str):
                continue
            shown, hold = self._judge(server, name, tool, scanner)
            if shown is not None:
                served.append(shown)
            if hold is not None:
                for public in self._public_names(server, name):
                    self._holds[public] = hold
                    held.add(public)
        if held:
            self._held_names[server] = held
        return served

    def screen_server(self, server: str, findings: list[Finding]) -> None:
        """Remember a backend whose serverInfo or instructions the scan flagged (its instructions are not served)."""
        held = self.config.scan == "block" and blocking(findings)
        if held and server not in self._flagged_servers:
            log.warning("server '%s': instructions withheld (%s)", server, _rules_text(findings))
            self._record(server, None, "deny", Reason.POISONING_SUSPECTED.value, findings)
        if held:
            self._flagged_servers[server] = findings
        else:
            self._flagged_servers.pop(server, None)

    def server_flagged(self, server: str) -> bool:
        return server in self._flagged_servers

    def hold(self, public_name: str) -> Hold | None:
        return self._holds.get(public_name)

    @property
    def pins(self) -> Mapping[PinKey, Pin]:
        return self._pins

    @property
    def pending(self) -> int:
        return sum(pin.status != "approved" for pin in self._pins.values())

    def forget(self, server: str) -> None:
        """A server left the gateway: nothing of it is held any more (its pins stay, for when it comes back)."""
        self.forget_holds(server)
        self._flagged_servers.pop(server, None)

    def forget_holds(self, server: str) -> None:
        for public in self._held_names.pop(server, set()):
            self._holds.pop(public, None)

    # -- the registry ---------------------------------------------------------------------------------------

    def attach(self, store: Store, rescreen: Callable[[], None]) -> None:
        """Use `store` from now on: nothing is served until its pins are loaded, then every listing is screened
        again (`rescreen`) against them."""
        self._store = store
        self._rescreen = rescreen
        self._loaded = anyio.Event()
        self._wakeup.set()

    async def wait_loaded(self) -> None:
        await self._loaded.wait()

    async def run(self) -> None:
        """Load pins, write changed ones, and pick up pins changed elsewhere (an approval), until cancelled."""
        version: int | None = None
        while True:
            with anyio.move_on_after(POLL_INTERVAL):
                await self._wakeup.wait()
            self._wakeup = anyio.Event()
            store = self._store
            if store is None:
                continue
            with anyio.CancelScope(shield=True), anyio.move_on_after(SAVE_LIMIT):
                try:
                    await self._save(store)
                    current = await store.pins_version()
                    if current != version or not self._loaded.is_set():
                        version = current
                        await self._reload(store)
                except Exception:
                    log.exception("could not sync tool pins with the registry")

    async def flush(self) -> None:
        if self._store is not None:
            await self._save(self._store)

    async def _save(self, store: Store) -> None:
        while self._unsaved:
            key = next(iter(self._unsaved))
            pin = self._unsaved.pop(key)
            try:
                await store.save_pin(pin)
            except BaseException:
                self._unsaved.setdefault(key, pin)
                raise

    async def _reload(self, store: Store) -> None:
        stored = await store.load_pins()
        first = not self._loaded.is_set()
        if first:
            # Pins first seen before the registry was read are kept only where the registry knows nothing.
            merged = {key: pin for key, pin in self._pins.items() if key not in stored}
            self._unsaved = {key: pin for key, pin in self._unsaved.items() if key not in stored}
            self._pins = {**merged, **stored}
        elif _states(stored) != _states(self._pins):
            self._pins = {**stored, **{key: pin for key, pin in self._unsaved.items()}}
        else:
            return
        self._loaded.set()
        self._rescreen()

    # -- deciding -------------------------------------------------------------------------------------------

    def _judge(
        self, server: str, name: str, tool: dict[str, Any], scanner: Scanner
    ) -> tuple[dict[str, Any] | None, Hold | None]:
        """(what clients are shown, or None; the hold, if calls are refused)."""
        key = (server, name)
        digest = definition_hash(tool)
        pin = self._pins.get(key)
        if pin is None or (pin.status == "quarantined" and pin.hash != digest):
            return self._first_sight(server, name, tool, digest, scanner)
        if pin.status == "approved" and pin.hash == digest:
            return tool, None
        if pin.status == "quarantined":
            return None, Hold(server, name, Reason.POISONING_SUSPECTED, _rule_ids(pin.findings))
        if pin.status == "pending" and pin.pending_hash == pin.hash:  # a new tool held for approval
            if digest == pin.hash:
                return None, Hold(server, name, Reason.PENDING_APPROVAL, _rule_ids(pin.findings))
            return self._first_sight(server, name, tool, digest, scanner)
        if digest == pin.hash:  # the approved definition is back: the pending change is moot
            self._keep(dataclasses.replace(pin, status="approved", pending_hash=None, pending_definition=None))
            return tool, None
        if pin.pending_hash != digest:
            findings = self._scan(scanner, tool)
            pin = dataclasses.replace(
                pin, status="pending", pending_hash=digest, pending_definition=tool, findings=_dicts(findings)
            )
            self._keep(pin)
            log.warning(
                "tool '%s' of server '%s' changed since it was approved: %s until `switchyard pins approve %s:%s`",
                escape(name),
                server,
                "its approved definition is served" if self.config.on_change == "keep_pinned" else "withheld",
                server,
                escape(name),
            )
            self._record(server, name, "deny", PIN_MISMATCH, findings)
        if self.config.on_change == "keep_pinned":
            return pin.definition, None
        return None, Hold(server, name, Reason.DEFINITION_CHANGED, _rule_ids(pin.findings))

    def _first_sight(
        self, server: str, name: str, tool: dict[str, Any], digest: str, scanner: Scanner
    ) -> tuple[dict[str, Any] | None, Hold | None]:
        findings = self._scan(scanner, tool)
        if self.config.scan == "block" and blocking(findings):
            pin = Pin(server, name, digest, tool, status="quarantined", findings=_dicts(findings))
            hold = Hold(server, name, Reason.POISONING_SUSPECTED, _rule_ids(pin.findings))
            log.warning("tool '%s' of server '%s' withheld: %s", escape(name), server, _rules_text(findings))
            self._record(server, name, "deny", Reason.POISONING_SUSPECTED.value, findings)
            self._keep(pin)
            return None, hold
        if self.config.on_new == "hold":
            pin = Pin(server, name, digest, tool, status="pending", pending_hash=digest, pending_definition=tool)
            self._keep(dataclasses.replace(pin, findings=_dicts(findings)))
            self._record(server, name, "deny", Reason.PENDING_APPROVAL.value, findings)
            return None, Hold(server, name, Reason.PENDING_APPROVAL, _rule_ids(_dicts(findings)))
        if findings:
            log.warning("tool '%s' of server '%s' (scan: report): %s", escape(name), server, _rules_text(findings))
            self._record(server, name, "allow", POISONING_REPORTED, findings)
        self._keep(Pin(server, name, digest, tool, findings=_dicts(findings)))
        return tool, None

    def _scan(self, scanner: Scanner, tool: dict[str, Any]) -> list[Finding]:
        return [] if self.config.scan == "off" else scanner.tool(tool)

    def _keep(self, pin: Pin) -> None:
        self._pins[(pin.server, pin.tool)] = pin
        self._unsaved[(pin.server, pin.tool)] = pin
        self._wakeup.set()

    def _record(self, server: str, tool: str | None, decision: str, reason: str, findings: list[Finding]) -> None:
        self._audit(
            AuditRecord(
                ts=datetime.now(UTC),
                request_id=None,
                principal="gateway",
                transport="internal",
                method="pins/screen",
                server=server,
                tool=None if tool is None else escape(tool),
                decision=decision,
                reason=reason,
                duration_ms=None,
                detail=",".join(_rule_ids(_dicts(findings))) or None,
            )
        )


class PinGuard:
    """Refuses calls to a held-back tool with TOOL_QUARANTINED (to clients that may see its server and name;
    others get the unknown-tool answer from the router, as for any name they may not know)."""

    def __init__(self, pinning: Pinning, visible: Callable[[Call, str, str, str], bool]) -> None:
        self._pinning = pinning
        self._visible = visible

    async def __call__(self, call: Call, call_next: Handler) -> dict[str, Any]:
        target = call.target
        if target.kind == "tool":
            hold = self._pinning.hold(target.public_name)
            # A live tool of another server may carry the same name (naming: none/auto): only an absent name or
            # the held tool's own server is refused here.
            if (
                hold is not None
                and target.server in (None, hold.server)
                and self._visible(call, hold.server, hold.tool, target.public_name)
            ):
                raise hold.error(target.public_name)
        return await call_next(call)


def pin_diff(pin: Pin) -> list[str]:
    """The approved definition against the held-back one, as a unified diff of pretty JSON with every control or
    invisible character escaped; empty when nothing is held back. A tool never approved diffs against nothing."""
    if pin.status == "quarantined" or (pin.status == "pending" and pin.pending_hash == pin.hash):
        old: dict[str, Any] | None = None
        new = pin.pending_definition if pin.pending_definition is not None else pin.definition
    elif pin.pending_definition is not None:
        old, new = pin.definition, pin.pending_definition
    else:
        return []
    lines = difflib.unified_diff(
        _pretty(old),
        _pretty(new),
        fromfile=f"approved {pin.hash[:12]}" if old is not None else "(never approved)",
        tofile=f"held back {(pin.pending_hash or pin.hash)[:12]} ({pin.status})",
        lineterm="",
    )
    return [escape(line) for line in lines]


def _pretty(definition: dict[str, Any] | None) -> list[str]:
    if definition is None:
        return []
    return json.dumps(definition, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def _dicts(findings: list[Finding]) -> list[dict[str, Any]]:
    return [finding.as_dict() for finding in findings]


def _rule_ids(findings: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(f.get("rule")) for f in findings))


def _rules_text(findings: list[Finding]) -> str:
    return ", ".join(f"{f.rule} in {f.field} at {f.offset}" for f in findings)


def _states(pins: Mapping[PinKey, Pin]) -> dict[PinKey, tuple[str, str, str | None]]:
    return {key: (pin.status, pin.hash, pin.pending_hash) for key, pin in pins.items()}
