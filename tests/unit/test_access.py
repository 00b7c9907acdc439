"""Who is calling: API keys and users checked against a real (SQLite) app database, cached briefly."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from astralytiq import api_keys, audit
from astralytiq.accounts import add_user, update_user
from astralytiq.db import ApiKey, session_factory, upgrade_database
from serving.access import AccessCache

ACTOR = audit.Actor("tests", "system")


@pytest.fixture
def sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade_database(url)
    return session_factory(url)


def issue(sessions, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with sessions() as session:
        key = api_keys.issue(session, ACTOR, name="svc", **kwargs).key
        session.commit()
    return key


def test_a_key_is_checked_once_per_interval_and_revocation_needs_a_recheck(sessions) -> None:  # type: ignore[no-untyped-def]
    key = issue(sessions, models=["demand"])
    access = AccessCache(sessions, recheck_seconds=3600)
    principal = asyncio.run(access.api_key(key))
    assert principal is not None and principal.models == ("demand",) and principal.can_use("demand")
    assert not principal.can_use("other")
    with sessions() as session:
        api_keys.revoke(session, ACTOR, api_keys.prefix_of(key) or "")
        session.commit()
    assert asyncio.run(access.api_key(key)) is not None  # still trusted until rechecked...
    access.forget_keys()  # ...which a revocation through this process forces at once
    assert asyncio.run(access.api_key(key)) is None


def test_with_no_recheck_interval_every_request_sees_the_database(sessions) -> None:  # type: ignore[no-untyped-def]
    key = issue(sessions)
    access = AccessCache(sessions, recheck_seconds=0)
    assert asyncio.run(access.api_key(key)) is not None
    with sessions() as session:
        session.execute(update(ApiKey).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()
    assert asyncio.run(access.api_key(key)) is None


def test_last_use_is_written_at_most_once_a_minute(sessions) -> None:  # type: ignore[no-untyped-def]
    key = issue(sessions)
    access = AccessCache(sessions, recheck_seconds=0)

    def last_used() -> datetime | None:
        with sessions() as session:
            return session.scalar(select(ApiKey.last_used_at))

    asyncio.run(access.api_key(key))
    first = last_used()
    assert first is not None
    asyncio.run(access.api_key(key))
    assert last_used() == first  # within the minute: no write
    with sessions() as session:
        session.execute(update(ApiKey).values(last_used_at=datetime.now(UTC) - timedelta(minutes=2)))
        session.commit()
    asyncio.run(access.api_key(key))
    assert last_used() is not None and last_used() != first


def test_a_wrong_secret_with_a_real_prefix_is_refused(sessions) -> None:  # type: ignore[no-untyped-def]
    key = issue(sessions)
    access = AccessCache(sessions, recheck_seconds=60)
    assert asyncio.run(access.api_key(key[:-1] + ("A" if key[-1] != "A" else "B"))) is None


def test_a_disabled_user_is_refused_after_forgetting(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions() as session:
        add_user(session, ACTOR, "ana", "a-long-password", "engineer")
        session.commit()
    access = AccessCache(sessions, recheck_seconds=3600)
    assert asyncio.run(access.user("ana")) is not None
    with sessions() as session:
        update_user(session, ACTOR, "ana", active=False)
        session.commit()
    access.forget_user("ana")
    assert asyncio.run(access.user("ana")) is None
    assert asyncio.run(access.user("nobody")) is None


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"role": "admin"}, "viewer, engineer"),
        ({"models": ["a\nb"]}, "control characters"),
        ({"expires_at": datetime(2000, 1, 1, tzinfo=UTC)}, "in the past"),
    ],
)
def test_bad_key_requests_are_refused(sessions, kwargs, fragment) -> None:  # type: ignore[no-untyped-def]
    with sessions() as session, pytest.raises(api_keys.InvalidKeyRequest, match=fragment):
        api_keys.issue(session, ACTOR, name="svc", **kwargs)


def test_a_burst_of_requests_makes_one_database_check(sessions) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    key = issue(sessions)
    access = AccessCache(sessions, recheck_seconds=3600)
    selects: list[str] = []
    engine = sessions.kw["bind"]

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "api_keys" in statement:
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:

        async def burst() -> list[object]:
            return await asyncio.gather(*(access.api_key(key) for _ in range(50)))

        principals = asyncio.run(burst())
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert all(p is not None for p in principals)
    assert len(selects) == 1


def test_while_the_database_is_away_known_callers_still_pass(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from serving.access import AccessUnavailable

    known, stranger = issue(sessions), issue(sessions)
    access = AccessCache(sessions, recheck_seconds=0)
    assert asyncio.run(access.api_key(known)) is not None
    sessions.kw["bind"].dispose()
    (tmp_path / "app.db").rename(tmp_path / "gone.db")  # the next connection finds no tables
    try:
        assert asyncio.run(access.api_key(known)) is not None  # trusted from its last check
        with pytest.raises(AccessUnavailable, match="app database is unavailable"):
            asyncio.run(access.api_key(stranger))
    finally:
        sessions.kw["bind"].dispose()
        (tmp_path / "gone.db").rename(tmp_path / "app.db")


def test_past_half_its_life_an_answer_is_rechecked_in_the_background(sessions) -> None:  # type: ignore[no-untyped-def]
    key = issue(sessions)
    access = AccessCache(sessions, recheck_seconds=0.6)

    async def scenario() -> list[object]:
        seen: list[object] = [await access.api_key(key)]
        with sessions() as session:
            api_keys.revoke(session, ACTOR, api_keys.prefix_of(key) or "")
            session.commit()
        await asyncio.sleep(0.35)  # past half of 0.6 s: still trusted, but a recheck starts
        seen.append(await access.api_key(key))
        await asyncio.sleep(0.2)  # the recheck has finished well within the 0.6 s
        seen.append(await access.api_key(key))
        return seen

    first, during, after = asyncio.run(scenario())
    assert first is not None and during is not None and after is None
