"""JSON-RPC 2.0 framing: the gateway relays messages as plain dicts and encodes them with orjson."""

from __future__ import annotations

from typing import Any

import orjson

from switchyard.errors import GatewayError, Reason

JSONRPC = "2.0"

Message = dict[str, Any]
RequestId = int | str


def encode(message: Message) -> bytes:
    return orjson.dumps(message)


def decode(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise GatewayError(Reason.PARSE_ERROR, f"Parse error: {exc}") from None


def request(id: RequestId, method: str, params: dict[str, Any] | None = None) -> Message:
    message: Message = {"jsonrpc": JSONRPC, "id": id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def notification(method: str, params: dict[str, Any] | None = None) -> Message:
    message: Message = {"jsonrpc": JSONRPC, "method": method}
    if params is not None:
        message["params"] = params
    return message


def result(id: RequestId | None, value: dict[str, Any]) -> Message:
    return {"jsonrpc": JSONRPC, "id": id, "result": value}


def error(id: RequestId | None, err: dict[str, Any]) -> Message:
    return {"jsonrpc": JSONRPC, "id": id, "error": err}


def is_response(message: Message) -> bool:
    return "method" not in message and ("result" in message or "error" in message)


def validate(message: Any) -> Message:
    """Check the envelope of an incoming message (the payload is not the gateway's business)."""
    if not isinstance(message, dict):
        kind = "a batch (array)" if isinstance(message, list) else type(message).__name__
        raise GatewayError(Reason.INVALID_REQUEST, f"Invalid request: expected a JSON-RPC object, got {kind}")
    if message.get("jsonrpc") != JSONRPC:
        raise GatewayError(Reason.INVALID_REQUEST, 'Invalid request: "jsonrpc" must be "2.0"')
    if "method" in message:
        if not isinstance(message["method"], str):
            raise GatewayError(Reason.INVALID_REQUEST, 'Invalid request: "method" must be a string')
        if "id" in message and (message["id"] is None or isinstance(message["id"], bool | float | dict | list)):
            raise GatewayError(Reason.INVALID_REQUEST, 'Invalid request: "id" must be a string or integer')
        params = message.get("params")
        if params is not None and not isinstance(params, dict):
            raise GatewayError(Reason.INVALID_PARAMS, 'Invalid params: "params" must be an object')
    elif not is_response(message):
        raise GatewayError(Reason.INVALID_REQUEST, "Invalid request: neither a request, notification nor response")
    return message
