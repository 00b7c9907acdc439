"""The champion's history replayed: rollbacks pop, forward moves push, outside moves are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from serving.champion_history import Change, replay

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_gate_promotions_then_two_rollbacks_walk_back_two_steps() -> None:
    gate = [Change(at(i), "gate", str(i)) for i in (1, 2, 3)]
    assert replay(gate, "3") == ["1", "2", "3"]
    first = Change(at(10), "rollback", "2", "3")
    assert replay([*gate, first], "2") == ["1", "2"]
    second = Change(at(11), "rollback", "1", "2")
    assert replay([*gate, first, second], "1") == ["1"]


def test_a_rollback_to_a_named_older_version_drops_what_came_after_it() -> None:
    gate = [Change(at(i), "gate", str(i)) for i in (1, 2, 3, 4)]
    assert replay([*gate, Change(at(10), "rollback", "2", "4")], "2") == ["1", "2"]


def test_a_version_trained_after_a_rollback_reigns_on_top() -> None:
    changes = [
        Change(at(1), "gate", "1"),
        Change(at(2), "gate", "2"),
        Change(at(3), "rollback", "1", "2"),
        Change(at(4), "gate", "3"),
    ]
    assert replay(changes, "3") == ["1", "3"]


def test_an_alias_moved_outside_the_api_is_part_of_the_history() -> None:
    # v5 was made champion in the MLflow UI; a promotion then went from v5 to v6.
    changes = [Change(at(1), "gate", "1"), Change(at(2), "promote", "6", "5")]
    assert replay(changes, "6") == ["1", "5", "6"]
    assert replay([], "7") == ["7"]
