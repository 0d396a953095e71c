"""The report's query adapter: what the build-report use case (service/usecases/build_report.py)
reads from SQL, behind one object per engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Engine

from service.domain.arm_totals import ArmTotals, DayTotals, StratumTotals
from service.domain.bandit import WeightChange
from service.domain.report import Segment
from service.store.sql import report_queries
from service.store.sql.bandit_repo import BanditWeightRepo


class SqlReportSource:
    """Sufficient statistics over exposed visitors and the bandit's weight history."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def arm_totals(
        self,
        experiment_key: str,
        *,
        start: date | None,
        end: date | None,
        segment: Segment | None,
        revenue_cap: float | None,
    ) -> list[ArmTotals]:
        return report_queries.arm_totals(
            self._engine,
            experiment_key,
            start=start,
            end=end,
            segment=segment,
            revenue_cap=revenue_cap,
        )

    def day_totals(
        self,
        experiment_key: str,
        *,
        start: date | None,
        end: date | None,
        revenue_cap: float | None,
    ) -> list[DayTotals]:
        return report_queries.day_totals(
            self._engine, experiment_key, start=start, end=end, revenue_cap=revenue_cap
        )

    def stratum_totals(
        self,
        experiment_key: str,
        boundaries: Sequence[datetime],
        *,
        start: date | None,
        end: date | None,
        segment: Segment | None,
        revenue_cap: float | None,
    ) -> list[StratumTotals]:
        return report_queries.stratum_totals(
            self._engine,
            experiment_key,
            boundaries,
            start=start,
            end=end,
            segment=segment,
            revenue_cap=revenue_cap,
        )

    def weight_history(self, experiment_key: str) -> list[WeightChange]:
        return BanditWeightRepo(self._engine).history(experiment_key)
