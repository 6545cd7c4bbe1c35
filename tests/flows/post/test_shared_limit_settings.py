"""What uniload expects of a shared rate limit's settings, judged without a server."""

from __future__ import annotations

from flows.post.shared_limit import advice, unusable
from uniware.batch_pacer import LimitState


def test_a_disabled_limit_is_refused_with_the_command_that_enables_it() -> None:
    problem = unusable("posts", LimitState(50, 20.0, 0), active=False)
    assert problem is not None and "prefect gcl enable posts" in problem


def test_a_limit_of_a_few_seconds_of_requests_is_taken_without_a_word() -> None:
    state = LimitState(50, 20.0, 0)
    assert unusable("posts", state, active=True) is None
    assert advice("posts", state) is None


def test_a_limit_of_one_second_of_requests_warns_what_it_costs_and_the_fix() -> None:
    state = LimitState(20, 20.0, 0)
    assert unusable("posts", state, active=True) is None  # it works, at a cost
    warning = advice("posts", state)
    assert warning is not None
    assert "prefect gcl update posts --limit 100" in warning
    assert "about 86% of 20/s" in warning  # with the 50 ms round trip allowed for
