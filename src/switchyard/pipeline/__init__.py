"""The ordered policies every routed request passes through on its way to a backend."""

from switchyard.pipeline.base import Call, Client, Handler, Policy, Requester, Target, build_chain

__all__ = ["Call", "Client", "Handler", "Policy", "Requester", "Target", "build_chain"]
