"""The limits policy on its own: token buckets, in-flight caps, deadlines and what each refusal says."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from switchyard.config import LimitsConfig, ProfileLimits
from switchyard.errors import GatewayError
from switchyard.pipeline.base import Call, Client, Target
from switchyard.pipeline.limits import Limits, LimitSettings, TokenBucket


def _call(principal: str = "alice", session: str | None = "s1", via: str | None = None) -> Call:
    target = Target("tool", "echo__echo", "echo", "echo")
    return Call("tools/call", {}, Client(principal, "http", session), 1, target, via=via)


async def _ok(call: Call) -> dict[str, Any]:
    return {"content": []}


def test_settings_take_the_profile_override_else_the_top_level() -> None:
    top = LimitsConfig(rate=10, max_inflight=4, call_timeout_s=30)
    assert LimitSettings.of(top) == LimitSettings(10.0, 20, 4, 64, 30)
    assert LimitSettings.of(top, ProfileLimits(rate=1, burst=3, call_timeout_s=2)) == LimitSettings(1.0, 3, 4, 64, 2)
    assert LimitSettings.of(LimitsConfig()).burst == 1  # no rate: the burst is moot


def test_a_bucket_refills_at_the_rate() -> None:
    bucket = TokenBucket(2, now=0.0)
    assert bucket.take(1.0, 2, 0.0) == 0.0
    assert bucket.take(1.0, 2, 0.0) == 0.0
    assert bucket.take(1.0, 2, 0.0) == pytest.approx(1.0)
    assert bucket.take(1.0, 2, 0.5) == pytest.approx(0.5)
    assert bucket.take(1.0, 2, 1.0) == 0.0
    assert bucket.take(1.0, 2, 100.0) == 0.0  # refills to the burst, never above
    assert bucket.take(1.0, 2, 100.0) == 0.0
    assert bucket.take(1.0, 2, 100.0) > 0


async def test_the_rate_is_per_principal_and_meta_calls_are_not_counted_twice() -> None:
    limits = Limits(lambda client: LimitSettings(1.0, 2, 0, 0, None))
    await limits(_call(), _ok)
    await limits(_call(session="other"), _ok)
    await limits(_call(via="meta"), _ok)  # the call_tool call that carries it was counted
    with pytest.raises(GatewayError) as refused:
        await limits(_call(session="third"), _ok)
    error = refused.value.to_jsonrpc(1)
    assert error["data"]["reason"] == "rate_limited" and 900 <= error["data"]["retry_after_ms"] <= 1000
    assert "1 calls per second" in error["message"] and "'alice'" in error["message"]
    await limits(_call("bob"), _ok)


async def test_in_flight_caps_per_principal_and_per_session() -> None:
    limits = Limits(lambda client: LimitSettings(0.0, 1, 2, 1, None))
    release = anyio.Event()

    async def wait(call: Call) -> dict[str, Any]:
        await release.wait()
        return {}

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(limits, _call(session="a"), wait)
        await anyio.sleep(0.01)
        with pytest.raises(GatewayError) as same_session:
            await limits(_call(session="a"), _ok)
        tasks.start_soon(limits, _call(session="b"), wait)
        await anyio.sleep(0.01)
        with pytest.raises(GatewayError) as same_principal:
            await limits(_call(session="c"), _ok)
        await limits(_call("bob", session="d"), _ok)
        release.set()
    assert same_session.value.to_jsonrpc()["data"]["reason"] == "too_many_inflight"
    assert "per session" in same_session.value.message
    assert "for 'alice'" in same_principal.value.message
    await limits(_call(session="a"), _ok)  # counts went back down


async def test_a_deadline_cancels_the_rest_of_the_chain() -> None:
    limits = Limits(lambda client: LimitSettings(0.0, 1, 0, 0, 0.05))
    cancelled = []

    async def hang(call: Call) -> dict[str, Any]:
        try:
            await anyio.sleep(10)
        except anyio.get_cancelled_exc_class():
            cancelled.append(True)
            raise
        return {}

    with pytest.raises(GatewayError) as timed_out:
        await limits(_call(), hang)
    assert timed_out.value.to_jsonrpc()["data"] == {"reason": "backend_timeout", "request_id": None, "server": "echo"}
    assert cancelled == [True]
