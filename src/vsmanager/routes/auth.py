"""Tickets: a key, sent in a header, traded for a short-lived single-use WebSocket ticket."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from vsmanager.routes.deps import AnyIdentity, GatekeeperDep, client_address

log = structlog.get_logger("vsmanager.api")
router = APIRouter(prefix="/auth", tags=["auth"])


class TicketOut(BaseModel):
    ticket: str = Field(description="Use once, as ?ticket= on the console WebSocket.")
    expires_in: int = Field(description="Seconds the ticket stays valid.", examples=[30])
    name: str = Field(description="The name of the key the ticket stands for.")
    role: str = Field(description="That key's role.")


@router.post("/ticket", response_model=TicketOut, responses={401: {}, 429: {}})
async def ticket(identity: AnyIdentity, gatekeeper: GatekeeperDep, request: Request) -> dict[str, object]:
    issued = gatekeeper.tickets.issue(identity)
    log.info("ticket_issued", key_name=identity.name, role=identity.role.value,
             client=client_address(request))
    return {"ticket": issued, "expires_in": int(gatekeeper.tickets.ttl), "name": identity.name,
            "role": identity.role.value}
