import pytest

from models.intervals import bands, z_score


def test_z_scores_match_normal_quantiles() -> None:
    assert z_score(95) == pytest.approx(1.959964, rel=1e-5)
    assert z_score(80) == pytest.approx(1.281552, rel=1e-5)


@pytest.mark.parametrize("level", [0, 100, -5, 150])
def test_levels_outside_0_100_are_refused(level: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        z_score(level)


def test_floor_clips_lower_bound() -> None:
    lower, upper = bands([1.0], [10.0], 95, floor=0.0)
    assert lower == [0.0] and upper[0] > 1.0
