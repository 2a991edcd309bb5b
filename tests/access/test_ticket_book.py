"""TicketBook: single use, expiry, a bound per key, revocation. Pure, with a fake clock."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vsmanager.access.roles import Identity, Role
from vsmanager.access.tickets import TicketBook

ALICE = Identity("alice", Role.ADMIN)
BOB = Identity("bob", Role.MONITOR)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def book(ttl: float = 30, per_key: int = 4) -> tuple[TicketBook, Clock]:
    clock = Clock()
    return TicketBook(ttl, per_key, clock), clock


def test_a_ticket_redeems_once_for_its_identity() -> None:
    tickets, _ = book()
    ticket = tickets.issue(ALICE)
    assert tickets.redeem(ticket) == ALICE
    assert tickets.redeem(ticket) is None


def test_an_expired_ticket_is_refused() -> None:
    tickets, clock = book(ttl=30)
    ticket = tickets.issue(ALICE)
    clock.now += 30
    assert tickets.redeem(ticket) is None


def test_a_ticket_just_before_expiry_is_accepted() -> None:
    tickets, clock = book(ttl=30)
    ticket = tickets.issue(ALICE)
    clock.now += 29.9
    assert tickets.redeem(ticket) == ALICE


def test_unknown_and_odd_tickets_are_refused() -> None:
    tickets, _ = book()
    tickets.issue(ALICE)
    for ticket in ["", None, "x" * 10_000, "\udcff", "not-a-ticket"]:
        assert tickets.redeem(ticket) is None


def test_tickets_are_random_and_long() -> None:
    tickets, _ = book(per_key=1000)
    issued = {tickets.issue(ALICE) for _ in range(500)}
    assert len(issued) == 500 and all(len(t) >= 32 for t in issued)


def test_a_key_holds_at_most_per_key_tickets_oldest_retired_first() -> None:
    tickets, _ = book(per_key=3)
    first, *rest = [tickets.issue(ALICE) for _ in range(4)]
    bobs = tickets.issue(BOB)
    assert len(tickets) == 4
    assert tickets.redeem(first) is None
    assert all(tickets.redeem(t) == ALICE for t in rest)
    assert tickets.redeem(bobs) == BOB


def test_expired_tickets_are_dropped_when_issuing() -> None:
    tickets, clock = book(per_key=100)
    for _ in range(50):
        tickets.issue(ALICE)
    clock.now += 31
    tickets.issue(BOB)
    assert len(tickets) == 1


def test_revoking_a_name_kills_its_tickets_only() -> None:
    tickets, _ = book()
    alices = tickets.issue(ALICE)
    bobs = tickets.issue(BOB)
    assert tickets.revoke({"alice"}) == 1
    assert tickets.redeem(alices) is None
    assert tickets.redeem(bobs) == BOB


@settings(max_examples=200, deadline=None, database=None)
@given(steps=st.lists(st.tuples(st.sampled_from(["issue-a", "issue-b", "tick"]),
                                st.floats(0, 20)), max_size=60))
def test_the_book_never_holds_more_than_per_key_per_name(steps: list[tuple[str, float]]) -> None:
    tickets, clock = book(ttl=30, per_key=3)
    for action, amount in steps:
        if action == "tick":
            clock.now += amount
        else:
            tickets.issue(ALICE if action == "issue-a" else BOB)
        assert len(tickets) <= 6
