"""An experiment's results page, its CSV download and today's live counters."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import BadRequest

from service.dashboard import charts, form_values
from service.dashboard.auth import login_required
from service.dashboard.views_editor import load
from service.domain.errors import InvalidRequest
from service.domain.experiment import GuardrailMetric
from service.domain.report import Segment
from service.domain.report_csv import render_csv
from service.domain.report_metrics import METRICS
from service.domain.report_query import report_params
from service.domain.verdicts import held_back
from service.store.redis.live_counters import read_live
from service.store.sql.rollup_days import rollup_days
from service.usecases.build_report import report_for
from service.web import csv_download, services


def _params() -> tuple[date | None, date | None, Segment | None]:
    # Days the report can compute with (it adds one to `to`), before the API's own checks.
    bad = [n for n in ("from", "to") if (raw := request.args.get(n)) and not form_values.day(raw)]
    if bad:
        said = " and ".join(bad)
        raise BadRequest(f"{said}: not a day the report can show; {form_values.DAY_RULE}.")
    try:
        return report_params(request.args)
    except InvalidRequest as exc:
        # The dashboard speaks HTML: the same check, said in a page.
        reasons = "; ".join(f"{k} {v}" for k, v in exc.fields.items())
        raise BadRequest(f"{exc.message}: {reasons}") from None


def register(bp: Blueprint) -> None:
    @bp.get("/experiments/<experiment_key:key>")
    @login_required()
    def results(key: str) -> str:
        stored = load(key)
        start, end, segment = _params()
        svc = services()
        experiment = stored.experiment
        report = report_for(svc, experiment, start=start, end=end, segment=segment)
        variants = [v.key for v in experiment.variants]
        activity = rollup_days(svc.engine, key, start=start, end=end)
        live = read_live(svc.redis, svc.keys, key, variants, svc.clock().date())
        return render_template(
            "dashboard/results.html",
            stored=stored,
            report=report,
            metrics=METRICS,
            # Rates of dismissing the banner: the "since shipping" part leaves them out, as
            # the holdout is shown no banner to dismiss.
            guardrail_metrics={str(m) for m in GuardrailMetric},
            charts={
                **charts.cumulative(report, variants),
                "activity": charts.activity(activity, variants),
            },
            live=live,
            # The same rule as the verdicts', for every comparison the page shows (segments too).
            min_donors=svc.settings.min_donors_per_arm,
            held_back=lambda control, row: held_back(
                control.conversions, row.conversions, svc.settings.min_donors_per_arm
            ),
            start=start,
            end=end,
            segment=segment,
            today=svc.clock().date(),
        )

    @bp.get("/experiments/<experiment_key:key>/report.csv")
    @login_required()
    def results_csv(key: str) -> Response:
        stored = load(key)
        start, end, segment = _params()
        svc = services()
        body = report_for(svc, stored.experiment, start=start, end=end, segment=segment)
        return csv_download(f"{key}-report.csv", render_csv(key, body))
