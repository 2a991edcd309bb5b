"""The console: history and commands over HTTP, the live stream over a WebSocket."""

from __future__ import annotations

from typing import Literal

import structlog
from fastapi import APIRouter, Query, Request, WebSocket
from pydantic import BaseModel, Field

from vsmanager.access.gatekeeper import (
    AuthRefused,
    CommandRateLimited,
    Gatekeeper,
)
from vsmanager.access.roles import Role
from vsmanager.config.settings import Settings
from vsmanager.console.buffer import MAX_SEQ
from vsmanager.console.commands import InvalidCommand, validate_command
from vsmanager.console.feed import ConsoleFeed
from vsmanager.game.supervisor import Supervisor
from vsmanager.game.vocabulary import vocabulary
from vsmanager.routes.deps import (
    AdminRole,
    FeedDep,
    GatekeeperDep,
    SettingsDep,
    SupervisorDep,
    audit,
    client_address,
    websocket_identity,
)
from vsmanager.routes.errors import ApiError
from vsmanager.stream.options import BadQuery, parse_options
from vsmanager.stream.session import (
    WS_4001_UNAUTHORIZED,
    WS_4400_BAD_REQUEST,
    ConsoleSession,
    close_before_streaming,
    describe_client,
    session_summary,
)
from vsmanager.stream.start import start_cursor

log = structlog.get_logger("vsmanager.api")
router = APIRouter(prefix="/console", tags=["console"])

HISTORY_DEFAULT_LINES = 100
HISTORY_MAX_LINES = 10_000


class LineOut(BaseModel):
    seq: int
    ts: str
    stream: Literal["stdout", "stderr", "command", "system"]
    text: str
    by: str | None = Field(None, description="Name of the key that made the line, when one did.")


class HistoryOut(BaseModel):
    lines: list[LineOut]
    first_seq: int = Field(description="Oldest seq still in the buffer (last_seq + 1 if empty).")
    last_seq: int = Field(description="Newest seq ever added (0 before the first line).")
    console_id: str = Field(description="The numbering these seqs belong to (new per vsmanager).")


class RunOut(BaseModel):
    run: int
    started_at: str
    ended_at: str | None
    exit_code: int | None
    outcome: Literal["stopped", "crashed", "killed"] | None
    first_seq: int = Field(description="The run's oldest line still in the buffer.")
    last_seq: int = Field(description="The run's newest line (its exit line once it ended).")


class RunsOut(BaseModel):
    console_id: str
    runs: list[RunOut] = Field(description="Runs with lines still in the buffer, oldest first.")


class CommandIn(BaseModel):
    # The bounds here document the schema; _validated() is the one check that decides.
    command: str = Field(min_length=1, max_length=1000, examples=["/help"])


class CommandOut(BaseModel):
    accepted: bool
    seq: int = Field(description="Seq of the command's echo line; its answer follows it.")


# exclude_unset: "by" appears only on the lines that have one.
@router.get("/history", response_model=HistoryOut, response_model_exclude_unset=True,
            responses={404: {"description": "run_not_found: ?run=N names a run with no lines left."}})
async def history(
    role: AdminRole,
    feed: FeedDep,
    supervisor: SupervisorDep,
    lines: int | None = Query(
        None, ge=0, le=HISTORY_MAX_LINES, description="The newest N lines, oldest first."
    ),
    after: int | None = Query(
        None, ge=0, le=MAX_SEQ, description="Lines with seq > after, oldest first (for paging)."
    ),
    limit: int = Query(
        HISTORY_DEFAULT_LINES, ge=1, le=HISTORY_MAX_LINES, description="With after: at most N."
    ),
    run: int | None = Query(
        None, ge=1, le=MAX_SEQ, description="Only this run's lines (see /console/runs)."
    ),
) -> dict[str, object]:
    buffer = feed.buffer
    first, last = buffer.first_seq, buffer.last_seq
    if run is not None:
        first, last = _run_span(supervisor, run, first, last)
    newest = HISTORY_DEFAULT_LINES if lines is None else lines
    if after is not None:
        selected = [line for line in buffer.read_after(max(after, first - 1), limit).lines
                    if line.seq <= last]
    else:
        count = max(0, min(newest, last - first + 1))
        selected = buffer.read_after(last - count, count).lines if count else []
    return {
        "lines": [line.as_dict() for line in selected],
        "first_seq": buffer.first_seq,
        "last_seq": buffer.last_seq,
        "console_id": feed.console_id,
    }


def _run_span(supervisor: Supervisor, number: int, first: int, last: int) -> tuple[int, int]:
    held = {run.run: span for run, span in supervisor.runs.held(first, last)}
    span = held.get(number)
    if span is None:
        listed = ", ".join(map(str, held)) or "none"
        raise ApiError(404, "run_not_found",
                       f"run {number} has no lines in the buffer (runs held: {listed})")
    return span.first, span.last


@router.get("/runs", response_model=RunsOut)
async def runs(role: AdminRole, feed: FeedDep, supervisor: SupervisorDep) -> dict[str, object]:
    buffer = feed.buffer
    held = supervisor.runs.held(buffer.first_seq, buffer.last_seq)
    return {
        "console_id": feed.console_id,
        "runs": [{**run.summary(), "first_seq": span.first, "last_seq": span.last}
                 for run, span in held],
    }


@router.get("/profile")
async def profile(role: AdminRole, settings: SettingsDep) -> dict[str, object]:
    """How the game's lines read (stamp, classes to colour) and its per-player commands."""
    return vocabulary(settings.game_profile)


@router.post("/command", response_model=CommandOut, status_code=202,
             responses={429: {"description": "Too many commands from this key."}})
async def command(
    body: CommandIn,
    identity: AdminRole,
    supervisor: SupervisorDep,
    settings: SettingsDep,
    gatekeeper: GatekeeperDep,
    request: Request,
) -> dict[str, object]:
    text = _validated(body.command, settings)
    try:
        gatekeeper.take_command(identity)
    except CommandRateLimited as exc:
        raise ApiError(429, exc.code, exc.message, {"Retry-After": str(exc.retry_after)}) from None
    seq = await supervisor.send_command(text, by=identity.name)
    log.info("console_command", key_name=identity.name, role=identity.role.value,
             client=client_address(request), via="http", command=text)
    audit(request, "command", identity, via="http", command=text)
    return {"accepted": True, "seq": seq}


def _validated(command: str, settings: Settings) -> str:
    try:
        return validate_command(command, settings.command_max_chars)
    except InvalidCommand as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None


@router.websocket("/ws")
async def console_ws(websocket: WebSocket) -> None:
    state = websocket.app.state
    settings: Settings = state.settings
    client = describe_client(websocket)
    gatekeeper: Gatekeeper = state.gatekeeper
    try:
        identity = websocket_identity(websocket)
        gatekeeper.authorize(identity, Role.ADMIN, "the console")
    except AuthRefused as exc:
        # A refused key has its auth_failed line already: one line per failure.
        level = log.debug if exc.close_code == WS_4001_UNAUTHORIZED else log.info
        level("console_ws_refused", client=client, close_code=exc.close_code)
        await close_before_streaming(websocket, exc.close_code, exc.reason)
        return
    try:
        options = parse_options(websocket.query_params, settings)
    except BadQuery as exc:
        log.info("console_ws_refused", client=client, close_code=WS_4400_BAD_REQUEST)
        await close_before_streaming(websocket, WS_4400_BAD_REQUEST, str(exc))
        return
    feed: ConsoleFeed = state.feed
    supervisor: Supervisor = state.supervisor
    async def run_command(text: str) -> None:
        gatekeeper.take_command(identity)
        await supervisor.send_command(text, by=identity.name)
        log.info("console_command", key_name=identity.name, role=identity.role.value,
                 client=client, via="websocket", command=text)
        audit(websocket, "command", identity, via="websocket", command=text)

    start = start_cursor(feed, options)  # before the client can see its connection open
    session = ConsoleSession(websocket, feed, supervisor, settings, options, client, start,
                             run_command)
    # A revoked key's session stops and closes with 4001 (it runs in this task: a task
    # waiting for the revocation would cost every idle connection its memory).
    with gatekeeper.revocation(identity, session.revoke):
        await websocket.accept()
        log.info("console_ws_connected", client=client, key_name=identity.name, format=options.format,
                 after=options.after,
                 history_lines=options.history_lines if options.after is None else None)
        try:
            await session.run(state.watchdog)
        finally:
            if session.revoked and session.close_code == WS_4001_UNAUTHORIZED:
                log.info("console_ws_revoked", client=client, key_name=identity.name)
            log.info("console_ws_disconnected", client=client, **session_summary(session))
