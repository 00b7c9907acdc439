"""The portal's table cells: state badges coloured by meaning, their text always escaped."""

from __future__ import annotations


def test_alert_severities_get_their_own_colours_and_hostile_states_stay_text() -> None:
    from portal.tables import badge

    assert 'class="aq-badge aq-bad">critical<' in badge("critical")
    assert 'class="aq-badge aq-warn">warning<' in badge("warning")
    assert 'class="aq-badge aq-muted">&lt;img src=x&gt;<' in badge("<img src=x>")
