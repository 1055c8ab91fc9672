"""The job skeleton: every claimed row runs, and one row's bug never stops the others."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from services.platform.job_runner import run_claimed


@dataclass(frozen=True)
class _Row:
    id: int


def _run(row: _Row, ran: list[int]) -> None:
    if row.id == 2:
        raise RuntimeError("a bug on row 2")
    ran.append(row.id)


@pytest.mark.parametrize("in_parallel", [False, True])
def test_a_crashing_row_is_logged_and_handed_back_while_the_rest_run(
    worker, caplog, in_parallel: bool
) -> None:
    rows = [_Row(1), _Row(2), _Row(3)]
    ran: list[int] = []
    crashed: list[int] = []
    with caplog.at_level(logging.ERROR, logger="services.platform.job_runner"):
        count = run_claimed(
            worker.context,
            rows,
            lambda row: _run(row, ran),
            crashed=lambda row: crashed.append(row.id),
            in_parallel=in_parallel,
        )
    assert count == 3
    assert sorted(ran) == [1, 3]
    if not in_parallel:
        assert ran == [1, 3]  # in the order claimed
    assert crashed == [2]
    (failure,) = caplog.records
    assert failure.getMessage() == "_Row 2 failed" and failure.exc_info is not None


def test_without_a_handler_a_crashing_row_keeps_its_lease(worker) -> None:
    ran: list[int] = []
    assert run_claimed(worker.context, [_Row(2), _Row(5)], lambda row: _run(row, ran)) == 2
    assert ran == [5]
