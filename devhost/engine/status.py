"""Status JSON of the Durable HTTP API, instance queries with paging, and purge filters."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from devhost.engine import events as ev
from devhost.engine.store import INSTANCE_COLUMNS, TERMINAL, HistoryRow, Instance, Store

# OrchestratorStarted/Completed are replay bookkeeping; the real API leaves them out of historyEvents.
HIDDEN_EVENTS = frozenset({ev.ORCH_STARTED, ev.ORCH_COMPLETED})
OUTPUT_FIELDS = ("Result", "Input", "Details")


def _json_value(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:  # input that the client sent as non-JSON text
        return text


def _api_time(stored: str) -> str:
    return stored[:19] + "Z"  # the real API answers with whole seconds


def status_json(
    inst: Instance,
    *,
    show_input: bool = True,
    history: list[HistoryRow] | None = None,
    show_history_output: bool = False,
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": inst.name,
        "instanceId": inst.instance_id,
        "runtimeStatus": inst.status,
        "input": _json_value(inst.input) if show_input else None,
        "output": _json_value(inst.output),
        "customStatus": _json_value(inst.custom_status),
        "createdTime": _api_time(inst.created_time),
        "lastUpdatedTime": _api_time(inst.last_updated_time),
    }
    if history is not None:
        status["historyEvents"] = [
            _history_event(h, show_history_output) for h in history if h.event_type not in HIDDEN_EVENTS
        ]
    return status


def _history_event(row: HistoryRow, show_output: bool) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(row.body)
    body["EventType"] = ev.EVENT_NAMES.get(row.event_type, str(row.event_type))
    body.pop("IsPlayed", None)
    if not show_output and row.event_type != ev.EXECUTION_STARTED:
        for key in OUTPUT_FIELDS:
            body.pop(key, None)
    return body


def _time_filter(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # naive datetimes are read as UTC, like the HTTP API
    return ev.fmt_time(value)


def where_clause(
    runtime_status: Sequence[str] | None,
    created_from: dt.datetime | None,
    created_to: dt.datetime | None,
    instance_id_prefix: str | None = None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if runtime_status:
        clauses.append(f"status IN ({', '.join('?' for _ in runtime_status)})")
        params.extend(runtime_status)
    if created_from is not None:
        clauses.append("created_time >= ?")
        params.append(_time_filter(created_from))
    if created_to is not None:
        clauses.append("created_time <= ?")
        params.append(_time_filter(created_to))
    if instance_id_prefix:
        clauses.append("substr(instance_id, 1, ?) = ?")
        params.extend([len(instance_id_prefix), instance_id_prefix])
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def query(
    store: Store,
    *,
    runtime_status: Sequence[str] | None,
    created_from: dt.datetime | None,
    created_to: dt.datetime | None,
    instance_id_prefix: str | None,
    top: int | None,
    continuation: str | None,
    show_input: bool,
) -> tuple[list[dict[str, Any]], str | None]:
    where, params = where_clause(runtime_status, created_from, created_to, instance_id_prefix)
    if continuation:
        after = _decode_token(continuation)
        where += (" AND " if where else " WHERE ") + "(created_time, instance_id) > (?, ?)"
        params.extend(after)
    sql = f"SELECT {INSTANCE_COLUMNS} FROM instances{where} ORDER BY created_time, instance_id"
    if top is not None:
        sql += " LIMIT ?"
        params.append(top + 1)  # one extra row tells whether another page exists
    rows = [Instance(*row) for row in store.read(sql, params)]
    token = None
    if top is not None and len(rows) > top:
        rows = rows[:top]
        last = rows[-1]
        token = base64.urlsafe_b64encode(json.dumps([last.created_time, last.instance_id]).encode()).decode()
    return [status_json(inst, show_input=show_input) for inst in rows], token


def _decode_token(token: str) -> list[str]:
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError as exc:  # binascii.Error and JSONDecodeError are ValueErrors
        raise ValueError(f"Invalid continuation token {token!r}") from exc
    if not (isinstance(after, list) and len(after) == 2 and all(isinstance(v, str) for v in after)):
        raise ValueError(f"Invalid continuation token {token!r}")
    return after


def purge_ids(
    store: Store,
    runtime_status: Sequence[str] | None,
    created_from: dt.datetime | None,
    created_to: dt.datetime | None,
) -> list[str]:
    # Only terminal instances are purged: a running one would be re-created by its own next episode.
    statuses = [s for s in (runtime_status or TERMINAL) if s in TERMINAL]
    if not statuses:
        return []
    where, params = where_clause(statuses, created_from, created_to)
    return [row[0] for row in store.read(f"SELECT instance_id FROM instances{where}", params)]
