"""The HTTP front's small security rules: Host/Origin patterns and which JWKS keys may verify anything."""

from __future__ import annotations

import json

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from switchyard.front.guard import Allowed, GuardSettings
from switchyard.front.tokens import pin_keys


def test_wildcard_ports_match_only_a_port() -> None:
    allowed = Allowed(("127.0.0.1:*", "http://localhost:*", "example.test"))
    assert "127.0.0.1:8931" in allowed and "http://localhost:6274" in allowed and "example.test" in allowed
    for value in ("127.0.0.1:80@evil", "127.0.0.1:", "http://localhost:x", "127.0.0.1.evil:80", "example.test:80"):
        assert value not in allowed


def test_loopback_binds_accept_loopback_names_and_others_only_what_is_configured() -> None:
    loopback = GuardSettings.for_bind("127.0.0.1", [], [])
    assert loopback.hosts is not None and "localhost:8931" in loopback.hosts and "evil:8931" not in loopback.hosts
    assert "http://[::1]:3000" in loopback.origins and "http://evil.example" not in loopback.origins
    public = GuardSettings.for_bind("0.0.0.0", [], ["https://app.example"])
    assert public.hosts is None and "http://localhost:3000" not in public.origins
    assert "https://app.example" in public.origins
    assert GuardSettings.for_bind("0.0.0.0", ["mcp.example"], []).hosts == Allowed(("mcp.example",))


def test_each_key_is_pinned_to_one_asymmetric_algorithm_and_symmetric_keys_are_ignored() -> None:
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 2048).public_key()))
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key()))
    document = {
        "keys": [
            {**rsa_jwk, "kid": "rsa"},
            {**rsa_jwk, "kid": "rsa-ps", "alg": "PS256"},
            {**ec_jwk, "kid": "ec"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"},
            {**rsa_jwk, "kid": "none", "alg": "none"},
            {**rsa_jwk, "kid": "enc", "use": "enc"},
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        ]
    }
    pinned = {kid: key.algorithm for kid, key in pin_keys(document).items()}
    assert pinned == {"rsa": "RS256", "rsa-ps": "PS256", "ec": "ES384"}
    assert pin_keys({"keys": "nope"}) == {} and pin_keys([]) == {}
