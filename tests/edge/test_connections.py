"""The per-address counter and the once-per-cool-down notice: pure, tested exhaustively."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vsmanager.edge.connections import AddressCounter, CapNotice


def test_an_address_may_hold_up_to_the_cap() -> None:
    counter = AddressCounter(2)
    assert counter.acquire("a") and counter.acquire("a")
    assert not counter.acquire("a")
    assert counter.acquire("b")  # others are not affected
    counter.release("a")
    assert counter.acquire("a")


def test_a_refusal_counts_nothing() -> None:
    counter = AddressCounter(1)
    counter.acquire("a")
    assert not counter.acquire("a")
    counter.release("a")
    assert counter.held("a") == 0


@settings(max_examples=300, deadline=None, database=None)
@given(ops=st.lists(st.tuples(st.booleans(), st.sampled_from("abc")), max_size=60),
       cap=st.integers(1, 4))
def test_counts_match_a_model_and_never_exceed_the_cap(ops: list[tuple[bool, str]], cap: int) -> None:
    counter = AddressCounter(cap)
    model: dict[str, int] = {}
    for acquire, address in ops:
        if acquire:
            assert counter.acquire(address) == (model.get(address, 0) < cap)
            if model.get(address, 0) < cap:
                model[address] = model.get(address, 0) + 1
        elif model.get(address, 0) > 0:
            counter.release(address)
            model[address] -= 1
        assert counter.held(address) == model.get(address, 0) <= cap
    assert {a: counter.held(a) for a in "abc"} == {a: model.get(a, 0) for a in "abc"}


def test_the_notice_logs_once_per_cooldown() -> None:
    now = [0.0]
    notice = CapNotice("cap_reached", cooldown_s=60, clock=lambda: now[0])
    assert notice.hit("a")
    assert not notice.hit("b")
    now[0] = 59.9
    assert not notice.hit("a")
    now[0] = 60.0
    assert notice.hit("a")
