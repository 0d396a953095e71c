"""Turns an experiment document (parsed JSON or YAML) into an Experiment, or reports every way
it is wrong at once, keyed by field path (`variants[1].weight`), so an editor fixes all in one go.
"""

from __future__ import annotations

from datetime import datetime

from service.domain.banner_validation import parse_banner
from service.domain.errors import ValidationFailed
from service.domain.experiment import (
    Allocation,
    Analysis,
    Audience,
    BanditSettings,
    Caps,
    Device,
    Experiment,
    Placement,
    PrimaryMetric,
    SnoozeHours,
    Status,
    Targeting,
    Variant,
)
from service.domain.field_checks import (
    CURRENCY,
    Fields,
    Invalid,
    boolean,
    choice,
    integer,
    number,
    or_null,
    pattern,
    text,
)
from service.domain.instants import InstantInvalid, checked_instant, parse_instant

# ISO 3166-1 alpha-2 as assigned, plus XK (Kosovo), which geo-IP databases report.
_ISO_3166_ALPHA_2 = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN "
    "BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ "
    "DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL "
    "GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM "
    "JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME "
    "MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP "
    "NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD "
    "SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO "
    "TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW"
)
_COUNTRIES = frozenset(_ISO_3166_ALPHA_2.split())
# Short enough that a decision token (visitor, experiment, variant, time, MAC) stays within
# 160 URL-safe characters even for the longest visitor id.
KEY_PATTERN = r"[a-z0-9][a-z0-9-]{1,39}"
_KEY = pattern(KEY_PATTERN, "must be 2 to 40 lower-case letters, digits or -")
_VARIANT_KEY = pattern(
    r"[a-z0-9][a-z0-9-]{0,23}", "must be 1 to 24 lower-case letters, digits or -"
)
_SLUG = pattern(r"[a-z0-9][a-z0-9_-]{0,63}", "must be a slug of letters, digits, - or _", str.lower)
_LANGUAGE = pattern(r"[a-z]{2,3}", "must be an ISO 639 language code, such as en", str.lower)
_SNOOZE = number(0, 87_600)  # ten years is "never again" in practice


def parse_experiment(doc: object) -> Experiment:
    """The typed experiment with every default filled in; raises ValidationFailed listing every
    broken field. Any status is accepted: which statuses a request may set is the API's call."""
    errors: dict[str, str] = {}
    root = Fields.open(doc, "", errors)
    if root is None:
        raise ValidationFailed(errors)
    key = root.read("key", _KEY, "", required=True)
    name = root.read("name", text(200, non_empty=True), "", required=True)
    placement = root.read("placement", choice(Placement), Placement.article_end, required=True)
    priority = root.read("priority", integer(0, 1000), 0)
    status = root.read("status", choice(Status), Status.draft)
    start_at = root.read("start_at", or_null(_moment), None)
    end_at = root.read("end_at", or_null(_moment), None)
    if start_at is not None and end_at is not None and end_at <= start_at:
        root.fail("end_at", "must be after start_at")
    traffic = root.read("traffic", number(0, 1, above=True), 1.0)
    holdout = root.read("holdout", number(0, 1, below=True), 0.0)
    targeting = _targeting(root.child("targeting"))
    caps = _caps(root.child("caps"))
    snooze_hours = _snooze_hours(root.child("snooze_hours"))
    attribution_days = root.read("attribution_days", integer(1, 90), 7)
    allocation = root.read("allocation", choice(Allocation), Allocation.fixed)
    analysis = _analysis(root.child("analysis"))
    variants = _variants(root)
    bandit = _bandit(root.child("bandit"), len(variants))
    if allocation == Allocation.bandit and len(variants) < 2:
        root.fail("allocation", "a bandit needs at least two variants to choose between")
    # The seed defaults to the key so that bucketing is stable without any setup.
    seed = root.read("seed", text(64, non_empty=True), key)
    trust_client_conversions = root.read("trust_client_conversions", boolean, False)
    root.finish()
    if errors:
        raise ValidationFailed(errors)
    return Experiment(
        key=key,
        name=name,
        placement=placement,
        priority=priority,
        status=status,
        start_at=start_at,
        end_at=end_at,
        traffic=traffic,
        holdout=holdout,
        targeting=targeting,
        caps=caps,
        snooze_hours=snooze_hours,
        attribution_days=attribution_days,
        allocation=allocation,
        bandit=bandit,
        analysis=analysis,
        variants=variants,
        seed=seed,
        trust_client_conversions=trust_client_conversions,
    )


def _moment(value: object) -> datetime:
    # A datetime already: YAML reads unquoted times as datetimes.
    try:
        if isinstance(value, datetime):
            return checked_instant(value)
        return parse_instant(value)
    except InstantInvalid as exc:
        raise Invalid(str(exc)) from None


def _country(value: object) -> str:
    code = value.upper() if isinstance(value, str) else ""
    if code in _COUNTRIES:
        return code
    if code == "UK":
        raise Invalid("UK is not an ISO 3166 code: the United Kingdom is GB")
    raise Invalid("must be an ISO 3166 alpha-2 country code, such as US or GB")


def _targeting(fields: Fields | None) -> Targeting:
    default = Targeting()
    if fields is None:
        return default
    sections = fields.read_list("sections", _SLUG)

    def excluded(value: object) -> str:
        section = _SLUG(value)
        if section in sections:
            raise Invalid(f"{section} is also in sections")
        return section

    targeting = Targeting(
        countries=fields.read_list("countries", _country),
        devices=fields.read_list("devices", choice(Device)),
        languages=fields.read_list("languages", _LANGUAGE),
        sections=sections,
        exclude_sections=fields.read_list("exclude_sections", excluded),
        tags=fields.read_list("tags", _SLUG),
        min_article_views=fields.read("min_article_views", integer(0), default.min_article_views),
        audience=fields.read("audience", choice(Audience), default.audience),
    )
    fields.finish()
    return targeting


def _caps(fields: Fields | None) -> Caps:
    default = Caps()
    if fields is None:
        return default
    caps = Caps(
        max_impressions=fields.read(
            "max_impressions", or_null(integer(1)), default.max_impressions
        ),
        per_days=fields.read("per_days", integer(1, 365), default.per_days),
        min_hours_between=fields.read("min_hours_between", number(0), default.min_hours_between),
    )
    fields.finish()
    return caps


def _snooze_hours(fields: Fields | None) -> SnoozeHours:
    default = SnoozeHours()
    if fields is None:
        return default
    snooze_hours = SnoozeHours(
        remind_later=fields.read("remind_later", _SNOOZE, default.remind_later),
        close=fields.read("close", _SNOOZE, default.close),
        already_donated=fields.read("already_donated", _SNOOZE, default.already_donated),
    )
    fields.finish()
    return snooze_hours


def _analysis(fields: Fields | None) -> Analysis:
    default = Analysis()
    if fields is None:
        return default
    analysis = Analysis(
        primary_metric=fields.read("primary_metric", choice(PrimaryMetric), default.primary_metric),
        alpha=fields.read("alpha", number(0, 0.5, above=True), default.alpha),
        sequential=fields.read("sequential", boolean, default.sequential),
        revenue_cap=fields.read("revenue_cap", or_null(number(0, above=True)), default.revenue_cap),
        currency=fields.read("currency", CURRENCY, default.currency),
    )
    fields.finish()
    return analysis


def _bandit(fields: Fields | None, variant_count: int) -> BanditSettings:
    default = BanditSettings()
    if fields is None:
        return default
    bandit = BanditSettings(
        floor=fields.read("floor", number(0, 0.5, above=True), default.floor),
        # Two visitors at least: the Gaussian posterior of a revenue mean needs a variance.
        min_visitors=fields.read("min_visitors", integer(2, 10_000_000), default.min_visitors),
        min_conversions=fields.read(
            "min_conversions", integer(0, 1_000_000), default.min_conversions
        ),
        cadence_minutes=fields.read("cadence_minutes", integer(5, 10_080), default.cadence_minutes),
    )
    if bandit.floor * variant_count > 1 + 1e-9:
        fields.fail(
            "floor",
            f"times the {variant_count} variants must be at most 1 "
            f"(at most {_share(1 / variant_count)} each)",
        )
    fields.finish()
    return bandit


def _share(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _variants(root: Fields) -> tuple[Variant, ...]:
    variants: list[Variant] = []
    seen: set[str] = set()
    for path, raw in root.items("variants", min_items=1, max_items=10, required=True):
        fields = Fields.open(raw, path, root.errors)
        if fields is None:
            continue
        key = fields.read("key", _VARIANT_KEY, "", required=True)
        if key in seen:
            fields.fail("key", "is a duplicate of an earlier variant's key")
        seen.add(key)
        # Weights are relative shares, so leaving every weight out splits traffic evenly.
        weight = fields.read("weight", number(0, 1_000_000, above=True), 1.0)
        banner = parse_banner(fields.child("banner", required=True))
        fields.finish()
        if banner is not None:
            variants.append(Variant(key, weight, banner))
    return tuple(variants)
