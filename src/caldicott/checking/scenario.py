"""``caldicott demo --scenario checking``: the seeds' checking-service figures, replayed.

Makes a call log for 2016/17 to 20 November 2018 whose counts and totals are the
published ones (see :mod:`caldicott.checking.core.calllog`), starts the stand-in Home
Office checking service as a real process on loopback, sends every call through the
real channel (agreement and memorandum as of the call's day, only the agreement's
fields, a ledger disclosure, a metered charge), then prints the bills per year from
the database beside the published figures and the average call length they imply.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from caldicott.billing import service as billing
from caldicott.billing.core.bills import pounds
from caldicott.billing.core.years import local
from caldicott.checking.connector import HttpStatusChecker
from caldicott.checking.core.answers import Person
from caldicott.checking.core.calllog import (
    PUBLISHED,
    SAID_MINUTES,
    LoggedCall,
    PublishedYear,
    implied_minutes,
    make_log,
)
from caldicott.checking.flow import run_check
from caldicott.checking.service import CheckForm, Requester
from caldicott.checking.world import signing_dates
from caldicott.db import make_engine, unit_of_work
from caldicott.orgs.models import OrganisationRow
from caldicott.register.records import PatientRecord
from caldicott.settings import Settings

NATIONALITIES = ("Ruritanian", "Freedonian", "Latverian", "Genovian", "Elbonian", "Sokovian")


@dataclass(frozen=True, slots=True)
class YearLine:
    year: str
    calls: int
    pence: int
    published_calls: int
    published_pence: int
    implied_minutes: float

    def line(self) -> str:
        match = "matches" if (self.calls, self.pence) == (
            self.published_calls, self.published_pence) else "DIFFERS"
        return (f"{self.year:<9}{self.calls:>7,}{pounds(self.pence):>14}"
                f"{self.published_calls:>12,}{pounds(self.published_pence):>14}  {match:<8}"
                f"{self.implied_minutes:>9.1f}{SAID_MINUTES:>10}")


HEADER = (f"{'year':<9}{'calls':>7}{'billed':>14}{'published':>12}{'published £':>14}  "
          f"{'':<8}{'implied':>9}{'said':>10}\n{'':<74}(minutes per call)")


@contextmanager
def counterparty_process(port: int = 0) -> Iterator[str]:
    """Start the stand-in as its own process on 127.0.0.1; yield its URL; stop it."""
    import socket

    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "caldicott.checking.counterparty",
                                "--port", str(port)], env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the stand-in checking service did not start")


def run_checking_scenario(settings: Settings, echo: Callable[[str], object] = print
                          ) -> list[YearLine]:
    """Replay the call log through the channel (once: a database that already holds the
    years' usage is only reported) and return the table's lines."""
    engine = make_engine(settings)
    try:
        with unit_of_work(engine) as session:
            done = set(billing.years(session)) & {y.year for y in PUBLISHED}
        if done:
            echo(f"  the call log is already in this database ({', '.join(sorted(done))}); "
                 "reporting it")
        else:
            _replay(engine, settings, echo)
        with unit_of_work(engine) as session:
            return [_year_line(session, year) for year in PUBLISHED]
    finally:
        engine.dispose()


def _year_line(session: Session, year: PublishedYear) -> YearLine:
    bills = billing.bills(session, year.year)
    return YearLine(year.year, sum(b.calls for b in bills), sum(b.call_pence for b in bills),
                    year.calls, year.pence, implied_minutes(year))


def _replay(engine: Engine, settings: Settings, echo: Callable[[str], object]) -> None:
    from rich.progress import Progress

    from caldicott.synth import generate_people

    tariff = billing.checking_prices().on(dt.date(2016, 9, 1)).tariffs["call"]
    calls = [call for year in PUBLISHED
             for call in make_log(year, signing_dates(), tariff.charge)]
    people = list(generate_people(len(calls), seed=2016))
    kinds = _kinds(engine)
    with counterparty_process() as url, Progress(transient=True) as progress:
        echo(f"  the Home Office checking service stand-in runs at {url}")
        connector = HttpStatusChecker(url)
        task = progress.add_task("checks through the channel", total=len(calls))
        try:
            for n, (call, person) in enumerate(zip(calls, people, strict=True)):
                _one(engine, settings, connector, call, kinds[call.organisation], person, n)
                progress.advance(task)
        finally:
            connector.close()
    echo(f"  {len(calls):,} checks replayed through the channel")


def _kinds(engine: Engine) -> dict[str, str]:
    with unit_of_work(engine) as session:
        rows = session.execute(select(OrganisationRow.code, OrganisationRow.kind)).all()
        return {code: kind for code, kind in rows}


def _one(engine: Engine, settings: Settings, connector: HttpStatusChecker, call: LoggedCall,
         kind: str, person: PatientRecord, n: int) -> None:
    trust = kind == "nhs_trust"
    form = CheckForm(Person(person.given_name, person.family_name, person.birth_date,
                            NATIONALITIES[n % len(NATIONALITIES)]),
                     "entitlement_to_free_care" if trust else "housing_eligibility",
                     person.nhs_number if trust else None)
    run_check(lambda: unit_of_work(engine), settings, connector,
              Requester(call.organisation, "system/demo-call-log", "overseas_visitors_manager"),
              form, as_of=local(call.started).date(), call_times=(call.started, call.ended))
