"""Convictions as facts, and the UK Borders Act 2007 s.38 reading of "12 months" (pure).

From 9 May 2018 the tracing memorandum covers people considered for
deportation after a custodial sentence of 12 months or more. That threshold is
Condition 1 of the automatic-deportation provisions, and the Act says what
counts towards it.

UK Borders Act 2007, section 32(2) (legislation.gov.uk, ukpga/2007/30,
cross-heading "Deportation of criminals", point in time 15/01/2018)::

    Condition 1 is that the person is sentenced to a period of imprisonment of
    at least 12 months.

Section 38(1) (as reproduced from Lexis+ at help-benidorm.com/legal/
legislation/uk-parliament-acts/uk-borders-act-2007-c30/section-38)::

    In section 32(2) the reference to a person who is sentenced to a period of
    imprisonment of at least 12 months—
    (a) does not include a reference to a person who receives a suspended
        sentence (unless a court subsequently orders that the sentence or any
        part of it (of whatever length) is to take effect),
    (b) does not include a reference to a person who is sentenced to a period
        of imprisonment of at least 12 months only by virtue of being sentenced
        to consecutive sentences amounting in aggregate [to more than 12 months],

Paragraphs (c) and (d) were NOT retrieved verbatim in this session; their words
below are as recalled and must be checked against legislation.gov.uk before
anyone relies on the quotation (the same words appear in s.117D(4)(c)-(d) of the
Nationality, Immigration and Asylum Act 2002, quoted in KE (Nigeria) [2017]
EWCA Civ 1382: "sentenced to imprisonment or detention, or ordered or directed
to be detained, for an indeterminate period")::

    (c) includes a reference to a person who is sentenced to detention, or
        ordered or directed to be detained, in an institution other than a
        prison (including, in particular, a hospital or an institution for
        young offenders) for at least 12 months, and
    (d) includes a reference to a person who is sentenced to imprisonment or
        detention, or ordered or directed to be detained, for an indeterminate
        period (provided that it may last for 12 months).

The reading applied by :func:`qualifying_sentence_months`, one rule per clause:

* each sentence counts on its own length, never added to another (38(1)(b));
  a sentence that is 12 months or more by itself still counts when it also runs
  consecutively with others;
* a suspended sentence counts 0 unless a court ordered it to take effect, and
  then its full length counts ("of whatever length", 38(1)(a));
* detention, a hospital order or a young offender institution counts its length
  (38(1)(c));
* an indeterminate sentence, or a hospital order with no fixed length (a
  restriction order: KE (Nigeria)), counts as :data:`INDETERMINATE_MONTHS`
  (38(1)(d)).

A suspended sentence longer than two years cannot be passed (Legal Aid,
Sentencing and Punishment of Offenders Act 2012, explanatory notes to s.68:
courts may suspend sentences "between 14 days and two years"), so
:func:`validate_conviction` refuses one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

SENTENCE_TYPES = ("immediate", "suspended", "consecutive", "concurrent", "indeterminate",
                  "hospital_order", "detention")

#: What an indeterminate period counts as: "a period that may last" for life. Any value
#: of 12 or more satisfies Condition 1; this one is far above every determinate term
#: (:data:`MAX_DETERMINATE_MONTHS`), so it also sorts above them.
INDETERMINATE_MONTHS = 9999

#: The longest determinate term accepted as possible (100 years).
MAX_DETERMINATE_MONTHS = 1200

#: The longest sentence a court may suspend (two years).
MAX_SUSPENDED_MONTHS = 24

#: Condition 1 of s.32(2): "a period of imprisonment of at least 12 months".
THRESHOLD_MONTHS = 12

_FIRST_PLAUSIBLE_DATE = dt.date(1900, 1, 1)


class ConvictionError(ValueError):
    """A conviction with impossible or contradictory values; the message says which."""


@dataclass(frozen=True, slots=True)
class Conviction:
    """One conviction and its sentence, as the requester records it.

    ``length_months`` is the term of this one sentence (for ``indeterminate``, the
    minimum term if known, else ``None``; for a ``hospital_order``, ``None`` when it
    has no fixed length). ``consecutive_group`` names the sentences that run one
    after another (every ``consecutive`` sentence has one; sentences sharing it run
    together). ``activated`` says a court ordered a suspended sentence to take effect.

    Example:
        >>> Conviction("theft", "Theft Act 1968 s.1", "Leeds Crown Court",
        ...            dt.date(2016, 4, 1), "immediate", 18).counted_months()
        18
    """

    offence: str
    statute: str
    court: str
    date: dt.date
    sentence_type: str
    length_months: int | None
    consecutive_group: str | None = None
    activated: bool = False

    def counted_months(self) -> int:
        """The months this one sentence counts for under s.38(1) (0: it does not count).

        Example:
            >>> Conviction("assault", "CJA 1988 s.39", "Luton Magistrates' Court",
            ...            dt.date(2017, 2, 1), "suspended", 14).counted_months()
            0
        """
        if self.sentence_type == "suspended" and not self.activated:
            return 0  # 38(1)(a)
        if self.sentence_type == "indeterminate" or (
                self.sentence_type == "hospital_order" and self.length_months is None):
            return INDETERMINATE_MONTHS  # 38(1)(d)
        return self.length_months or 0  # its own length only: 38(1)(b), (c)


def qualifying_sentence_months(convictions: Iterable[Conviction]) -> int:
    """The longest single period that counts as imprisonment under s.38(1); 0 if none.

    Condition 1 of s.32(2) holds when the result is at least
    :data:`THRESHOLD_MONTHS`. Consecutive sentences are never added together.

    Example:
        >>> def sentence(kind, months, group=None):
        ...     return Conviction("burglary", "Theft Act 1968 s.9", "Bristol Crown Court",
        ...                       dt.date(2017, 6, 1), kind, months, group)
        >>> qualifying_sentence_months([sentence("suspended", 14)])
        0
        >>> qualifying_sentence_months([sentence("consecutive", 6, "count-1-3")] * 3)
        6
        >>> qualifying_sentence_months([sentence("immediate", 18)])
        18
        >>> qualifying_sentence_months([sentence("indeterminate", None)]) == INDETERMINATE_MONTHS
        True
        >>> qualifying_sentence_months([sentence("hospital_order", 12)])
        12
        >>> qualifying_sentence_months([])
        0
    """
    return max((conviction.counted_months() for conviction in convictions), default=0)


def meets_condition_1(convictions: Iterable[Conviction]) -> bool:
    """Was the person "sentenced to a period of imprisonment of at least 12 months"?

    Example:
        >>> meets_condition_1([])
        False
    """
    return qualifying_sentence_months(convictions) >= THRESHOLD_MONTHS


def validate_conviction(conviction: Conviction, *, today: dt.date | None = None) -> Conviction:
    """``conviction`` unchanged if its values are possible, else :class:`ConvictionError`.

    ``today`` (default: the system date) bounds the conviction date: a conviction
    cannot be in the future.

    Example:
        >>> validate_conviction(Conviction("theft", "Theft Act 1968 s.1", "Leeds Crown Court",
        ...                                dt.date(2016, 4, 1), "immediate", -3))
        Traceback (most recent call last):
        ...
        caldicott.requests.core.convictions.ConvictionError: sentence length -3 months is \
negative
    """
    today = today or dt.date.today()
    for name in ("offence", "statute", "court"):
        if not getattr(conviction, name).strip():
            raise ConvictionError(f"{name} is empty")
    if not _FIRST_PLAUSIBLE_DATE <= conviction.date <= today:
        raise ConvictionError(f"conviction date {conviction.date.isoformat()} is "
                              + ("in the future" if conviction.date > today else "before 1900"))
    _check_type_and_length(conviction)
    _check_grouping(conviction)
    return conviction


def _check_type_and_length(conviction: Conviction) -> None:
    kind, months = conviction.sentence_type, conviction.length_months
    if kind not in SENTENCE_TYPES:
        raise ConvictionError(f"unknown sentence type {kind!r}; one of {', '.join(SENTENCE_TYPES)}")
    if months is not None and months < 0:
        raise ConvictionError(f"sentence length {months} months is negative")
    if months is None and kind not in ("indeterminate", "hospital_order"):
        raise ConvictionError(f"sentence type {kind} needs its length in months")
    if months is not None and months > MAX_DETERMINATE_MONTHS:
        raise ConvictionError(f"sentence length {months} months is longer than "
                              f"{MAX_DETERMINATE_MONTHS} (100 years)")
    if kind == "suspended" and months is not None and months > MAX_SUSPENDED_MONTHS:
        raise ConvictionError(f"a suspended sentence of {months} months is impossible: "
                              f"a court may suspend at most {MAX_SUSPENDED_MONTHS} months")
    if conviction.activated and kind != "suspended":
        raise ConvictionError("only a suspended sentence can be activated")


def _check_grouping(conviction: Conviction) -> None:
    group = (conviction.consecutive_group or "").strip()
    if conviction.sentence_type == "consecutive" and not group:
        raise ConvictionError("a consecutive sentence needs the group of counts it runs with")
    if conviction.sentence_type != "consecutive" and group:
        raise ConvictionError(f"sentence type {conviction.sentence_type} does not run "
                              "consecutively; leave its consecutive group empty")
