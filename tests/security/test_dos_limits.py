"""dos/limits: SEC-DOS-001 (request size), -003 (rate), -005 (response size), -008 (circuit breaker).

The world here has the case file's rate limit: 20 calls/s per principal, burst 40."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.security.conftest import Case
from tests.security.stdio import StdioGateway
from tests.security.world import MCP_PATH, METRICS_PATH, Peer, World, assert_error, tool_text

MiB = 1024 * 1024
BIG = 32 * MiB


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = World(tmp_path_factory.mktemp("dos"), overrides={"limits": {"rate": 20, "burst": 40}})
    try:
        world.start()
        yield world
    finally:
        world.stop()


# -- SEC-DOS-001 ----------------------------------------------------------------------------------------------


def raw_post(world: World, peer: Peer, *, length: int | None, chunks: Iterator[bytes], stall: float = 0) -> bytes:
    """POST /mcp over a plain socket, streaming `chunks` until the gateway answers or closes; its raw answer."""
    headers = peer.headers()
    head = [f"POST {MCP_PATH} HTTP/1.1", f"Host: {world.host}", *(f"{k}: {v}" for k, v in headers.items())]
    head.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    with socket.create_connection(("127.0.0.1", world.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            for chunk in chunks:
                sock.sendall(chunk if length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if length is None:
                sock.sendall(b"0\r\n\r\n")
            if stall:
                sock.settimeout(stall)
        except OSError:
            pass  # the gateway answered and closed before the body ended: what a limit should do
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or len(answer) < 12:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
            sock.settimeout(1)
            while data := sock.recv(65536):
                answer += data
        except OSError:
            pass
    return answer


def _echo_body(size: int) -> Iterator[bytes]:
    head = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo__echo","arguments":{"text":"'
    yield head
    sent = len(head)
    while sent < size - 5:
        piece = b"x" * min(MiB, size - 5 - sent)
        sent += len(piece)
        yield piece
    yield b'"}}}'


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), f"no HTTP answer: {answer[:200]!r}"
    return int(answer[9:12])


@pytest.mark.case("SEC-DOS-001")
@pytest.mark.parametrize("variant", ["declared_and_sent", "chunked", "declared_then_stall", "just_over_the_limit"])
def test_an_oversized_request_body_is_refused_without_buffering_it(world: World, case: Case, variant: str) -> None:
    alice = world.peer("alice")
    alice.initialize()
    rss_before = world.gateway_process().memory_info().rss
    started = time.monotonic()
    if variant == "declared_and_sent":
        answer = raw_post(world, alice, length=BIG, chunks=_echo_body(BIG))
    elif variant == "chunked":
        answer = raw_post(world, alice, length=None, chunks=_echo_body(BIG))
    elif variant == "declared_then_stall":
        answer = raw_post(world, alice, length=BIG, chunks=iter([b"{" + b" " * 1023]), stall=5)
        assert time.monotonic() - started < 3, "refused on the declared length, not after waiting for the body"
    else:
        size = 4 * MiB + 1
        answer = raw_post(world, alice, length=size, chunks=_echo_body(size))
    assert _status(answer) == 413
    body = answer.split(b"\r\n\r\n", 1)[1]
    if body.strip():
        error = json.loads(body.split(b"\r\n")[-1] if b"{" not in body[:1] else body)
        assert error["error"]["data"]["reason"] == "request_too_large"
    assert world.gateway_process().memory_info().rss - rss_before < 16 * MiB
    case.refused("request_too_large")
    world.transcript.append(answer.decode("latin-1"))


@pytest.mark.case("SEC-DOS-001")
def test_an_oversized_stdio_line_gets_one_error_and_the_next_line_is_read(
    world: World, case: Case, stdio: StdioGateway
) -> None:
    line = b'{"jsonrpc":"2.0","id":77,"method":"tools/call","params":{"name":"echo__echo","arguments":{"text":"'
    stdio.send_raw(line + b"x" * BIG + b'"}}}\n' + b'{"jsonrpc":"2.0","id":78,"method":"ping"}\n')
    answers = [stdio.read(timeout=30), stdio.read(timeout=30)]
    assert {"jsonrpc": "2.0", "id": 78, "result": {}} in answers
    error = next(answer for answer in answers if answer.get("id") != 78)
    assert_error(error, "PAYLOAD_TOO_LARGE", alt=("PARSE_ERROR", "INVALID_REQUEST"))
    assert error["error"]["data"]["reason"] in ("request_too_large", "line_too_long"), "refused on input, not output"
    case.refused("request_too_large", "line_too_long")


# -- SEC-DOS-003 --------------------------------------------------------------------------------------------


@pytest.mark.case("SEC-DOS-003")
def test_the_rate_limit_is_per_principal_and_survives_new_sessions(world: World, case: Case) -> None:
    peers = [world.fresh_peer("alice") for _ in range(5)]
    for peer in peers:
        peer.initialize()
    started = time.monotonic()

    def burst(peer: Peer) -> list[tuple[int, dict[str, object], str | None]]:
        out = []
        for _ in range(80):
            reply = peer.call("echo__echo", {"text": "flood"})
            out.append((reply.status, reply.messages[0] if reply.messages else {}, reply.headers.get("retry-after")))
        return out

    with ThreadPoolExecutor(5) as pool:
        results = [r for batch in pool.map(burst, peers) for r in batch]
    elapsed = time.monotonic() - started
    for peer in peers:
        peer.close()
    served = [r for r in results if r[0] == 200 and "result" in r[1]]
    limited = [r for r in results if r[0] == 429 or (isinstance(r[1], dict) and "error" in r[1])]
    assert len(served) <= 40 + 20 * elapsed + 5, f"{len(served)} served in {elapsed:.1f} s over 20/s burst 40"
    assert limited, "nothing was limited"
    case.refused("rate_limited", count=len(limited))
    for _, message, _ in limited:
        assert message["error"]["data"]["reason"] == "rate_limited"
        assert message["error"]["data"]["retry_after_ms"] > 0
    for status, _, retry_after in limited:
        assert status == 429 and retry_after is not None, "a rate-limited HTTP request answers 429 with Retry-After"


@pytest.mark.case("SEC-DOS-003")
def test_the_rate_limit_answers_a_jsonrpc_error_on_stdio(world: World, case: Case, stdio: StdioGateway) -> None:
    answers = [stdio.call("echo__echo", {"text": "flood"}) for _ in range(120)]
    limited = [a for a in answers if "error" in a]
    assert limited, "the stdio principal was never limited"
    for answer in limited:
        assert_error(answer, "RATE_LIMITED", "rate_limited")
    case.refused("rate_limited", count=len(limited))


# -- SEC-DOS-005 --------------------------------------------------------------------------------------------

RESPONSES = {
    "stdio_64_mib_text": ("evil", {}, "evil__huge"),
    "http_64_mib_json": ("evil_http", {"http": "huge_json"}, "evil_http__echo"),
    "http_gzip_bomb": ("evil_http", {"http": "gzip_bomb"}, "evil_http__echo"),
    "http_endless_sse_event": ("evil_http", {"http": "endless_sse"}, "evil_http__echo"),
    # unseen variant: many notifications before the answer (a flood, not one big message)
    "stdio_notification_flood": ("evil", {}, "evil__flood"),
}


@pytest.mark.case("SEC-DOS-005")
@pytest.mark.parametrize("variant", RESPONSES, ids=RESPONSES)
def test_an_oversized_backend_response_is_cut_at_the_limit(world: World, case: Case, variant: str) -> None:
    server, control, tool = RESPONSES[variant]
    alice = world.peer("alice")
    alice.initialize()
    arguments = {"count": 20000} if tool == "evil__flood" else {"text": "x"} if tool.endswith("echo") else {}
    with world.evil_scripted(control):
        answer = alice.call(tool, arguments, timeout=30).message
    if variant == "stdio_notification_flood":
        assert tool_text(answer) == "flooded"
    else:
        assert_error(answer, "PAYLOAD_TOO_LARGE", "response_too_large")
        case.refused("response_too_large")
    deadline = time.monotonic() + 10
    while "result" not in (after := alice.call(f"{server}__echo", {"text": "next"}).message):
        assert time.monotonic() < deadline, f"the next call to {server} keeps failing: {after}"
        time.sleep(0.3)
    assert tool_text(after) == "next"
    case.may_refuse("backend_unavailable", "backend_crashed")


# -- SEC-DOS-008 -----------------------------------------------------------------------------------------------


@pytest.mark.case("SEC-DOS-008")
def test_the_circuit_opens_on_a_failing_backend_and_a_probe_closes_it(world: World, case: Case) -> None:
    alice = world.peer("alice")
    alice.initialize()
    with world.evil_scripted({"fail_all": True}):
        before = len(world.calls_received("evil"))
        answers = []
        for _ in range(15):
            answers.append(alice.call("evil__echo", {"text": "x"}).message)
            time.sleep(0.06)  # under the 20/s rate limit
        reached = len(world.calls_received("evil")) - before
        opened = [
            i for i, a in enumerate(answers) if a.get("error", {}).get("data", {}).get("reason") == "circuit_open"
        ]
        assert opened and opened[0] == 5, (
            f"the circuit should open after 5 failures: {[a.get('error') for a in answers]}"
        )
        assert reached == 5, f"evil was contacted {reached} times; an open circuit must not contact it"
        refusals = world.wait_audit(lambda row: row["reason"] == "circuit_open" and row["principal"] == "alice")
        slowest = max(float(row["duration_ms"] or 0) for row in refusals)
        assert slowest < 10, f"an open circuit must refuse at once (gateway time), took {slowest} ms"
        assert all(answers[i]["error"]["data"].get("retry_after_ms", 0) > 0 for i in opened)
        health = world.peer("admin").request("GET", "/readyz", headers={})
        assert "open" in health.text
        assert world.peer("anonymous").request("GET", "/healthz", headers={}).status == 200
    time.sleep(2.2)  # the cool-down
    probe = alice.call("evil__echo", {"text": "probe"}).message
    assert tool_text(probe) == "probe"
    assert tool_text(alice.call("evil__echo", {"text": "closed"}).message) == "closed"
    metrics = world.peer("admin").request("GET", METRICS_PATH, headers=world.peer("admin").headers(session=False))
    assert 'switchyard_circuit_trips_total{server="evil"}' in metrics.text, "a metric counts the trips"
    case.refused("circuit_open", count=len(opened))
    case.may_refuse("backend_error (-32603)")
