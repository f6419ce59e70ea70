"""Tasks a backend runs for a client (2025-11-25 experimental tasks; 2026-07-28 tasks extension).

A task id is the backend's, so two backends may both say `task-1`: clients see `<server>/<id>` instead, and a
task answers only to the session that started it (others are told it does not exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TASK_METHODS = frozenset({"tasks/get", "tasks/result", "tasks/cancel", "tasks/update"})


@dataclass(frozen=True, slots=True)
class TaskRef:
    server: str
    task_id: str  # the backend's own id
    owner: Any  # the session that started it


class TaskTable:
    def __init__(self) -> None:
        self._tasks: dict[str, TaskRef] = {}

    def find(self, public_id: str, owner: Any) -> TaskRef | None:
        ref = self._tasks.get(public_id)
        return ref if ref is not None and ref.owner is owner else None

    def adopt(self, server: str, owner: Any, result: dict[str, Any]) -> dict[str, Any]:
        """Record a task a result announces, and give the client its public id."""
        task = result.get("task")
        if isinstance(task, dict) and isinstance(task.get("taskId"), str):  # 2025-11-25 CreateTaskResult
            public = self._public(server, task["taskId"], owner)
            return {**result, "task": {**task, "taskId": public}}
        if result.get("resultType") == "task" and isinstance(result.get("taskId"), str):  # tasks extension
            return {**result, "taskId": self._public(server, result["taskId"], owner)}
        return result

    def publish(self, ref: TaskRef, public_id: str, result: dict[str, Any]) -> dict[str, Any]:
        """A task status from the backend, with the client's id in place of the backend's."""
        return {**result, "taskId": public_id} if result.get("taskId") == ref.task_id else result

    def forget_owner(self, owner: Any) -> None:
        self._tasks = {k: ref for k, ref in self._tasks.items() if ref.owner is not owner}

    def _public(self, server: str, task_id: str, owner: Any) -> str:
        public = f"{server}/{task_id}"
        self._tasks[public] = TaskRef(server, task_id, owner)
        return public
