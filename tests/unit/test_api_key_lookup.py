"""Finding a key by what `keys list` prints: its id or its prefix, whatever digits the prefix has."""

from __future__ import annotations

from pathlib import Path

import pytest

from astralytiq import api_keys, audit
from astralytiq.db import session_scope, upgrade_database

ACTOR = audit.Actor("tester", "cli")


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade_database(url)
    return url


def test_a_prefix_of_decimal_digits_is_a_prefix_not_an_id(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One prefix in ~280 is all decimal digits (12 hex digits): it was looked up as an id.
    monkeypatch.setattr(api_keys.secrets, "token_hex", lambda n: "504521941284")
    with session_scope(database) as session:
        issued = api_keys.issue(session, ACTOR, name="digits")
    with session_scope(database) as session:
        revoked = api_keys.revoke(session, ACTOR, "504521941284")
    assert revoked.id == issued.info.id and revoked.revoked_at is not None


def test_an_id_still_finds_its_key_and_a_huge_number_is_not_found(database: str) -> None:
    with session_scope(database) as session:
        issued = api_keys.issue(session, ACTOR, name="by-id")
    with session_scope(database) as session:
        assert api_keys.find(session, str(issued.info.id)).id == issued.info.id
        with pytest.raises(api_keys.KeyNotFound):
            api_keys.find(session, "9" * 30)
