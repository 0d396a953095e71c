"""The value types of the experiment document's fields: keys, slugs, languages, countries,
instants, snooze hours, and a signed webhook's URL. Each carries its own check and error
message, so a model (experiment.py, and the export schedule's for keys and webhooks) declares a
field by naming its type.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import PlainValidator, ValidationInfo, WithJsonSchema

from service.domain.instants import InstantInvalid, checked_instant, parse_instant
from service.domain.webhook_targets import AllowList, TargetRefused, webhook_target
from service.schemas import checks
from service.schemas.errors import rule
from service.schemas.fields import (
    checked,
    number,
    pattern,
)

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


def _moment(value: object) -> datetime:
    # A datetime already: YAML reads unquoted times as datetimes.
    try:
        if isinstance(value, datetime):
            return checked_instant(value)
        return parse_instant(value)
    except InstantInvalid as exc:
        raise checks.Invalid(str(exc)) from None


def _country(value: object) -> str:
    code = value.upper() if isinstance(value, str) else ""
    if code in _COUNTRIES:
        return code
    if code == "UK":
        raise checks.Invalid("UK is not an ISO 3166 code: the United Kingdom is GB")
    raise checks.Invalid("must be an ISO 3166 alpha-2 country code, such as US or GB")


Key = Annotated[str, *pattern(KEY_PATTERN, "must be 2 to 40 lower-case letters, digits or -")]


VariantKey = Annotated[
    str, *pattern(r"[a-z0-9][a-z0-9-]{0,23}", "must be 1 to 24 lower-case letters, digits or -")
]


Slug = Annotated[
    str,
    *pattern(r"[a-z0-9][a-z0-9_-]{0,63}", "must be a slug of letters, digits, - or _", str.lower),
]


Language = Annotated[
    str, *pattern(r"[a-z]{2,3}", "must be an ISO 639 language code, such as en", str.lower)
]


Country = Annotated[str, *checked(_country, {"type": "string", "enum": sorted(_COUNTRIES)})]


Moment = Annotated[
    datetime | None,
    *checked(_moment, {"type": "string", "format": "date-time"}, nullable=True),
]


Snooze = Annotated[float, *number(0, 87_600)]  # ten years is "never again" in practice


def webhook_url(value: object, allow: AllowList | None) -> str:
    """A signed webhook's URL, for exports and alerts alike: http(s), no user name or password
    (the signature authenticates), and with `allow` the SSRF rule (scheme, host name, literal
    address)."""
    try:
        url = checks.http_url(value)
    except checks.Invalid as invalid:
        raise rule(str(invalid)) from None
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise rule("must not carry a user name or password; the signature authenticates")
    if allow is not None:
        try:
            webhook_target(url, allow)
        except TargetRefused as refused:
            raise rule(str(refused)) from None
    return url


def _webhook_url(value: object, info: ValidationInfo) -> str:
    # Saving checks the SSRF rule with the server's EXPORT_WEBHOOK_ALLOW (given as context);
    # reading a stored document does not, and every delivery checks again anyway.
    return webhook_url(value, (info.context or {}).get("webhook_allow"))


WebhookUrl = Annotated[
    str,
    PlainValidator(_webhook_url),
    WithJsonSchema({"type": "string", "format": "uri", "maxLength": 2000}),
]
