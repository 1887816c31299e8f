"""Catalogue cases (SPEC §2): a catalogue's worked examples as executable checks.

A case file names a catalogue (or several versions of one city) and holds ``[[case]]``
tables: one resident's events, voids, lifts, objections and consents, an as-of date and what
the publication says follows (``expect``). Each case is scored in memory by the same kernel
as `scs score` (a `LedgerData` built from the case, no SQLite file) and reported as
``pass``, ``fail`` (expected against got), ``disputed`` (the catalogue follows another
source, and says why) or ``error`` (the case needs something the engine cannot do yet).
The anchors are OpenFisca's ``openfisca test`` and Catala's ``clerk test``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl

from scs_cli.core.errors import Problem, ProblemsError, ScsError
from scs_cli.core.frames import LedgerData
from scs_cli.core.output import decimal_text
from scs_cli.engine.kernel import score
from scs_cli.engine.listings import listings_of
from scs_cli.rules.model import Catalogue, CatalogueHistory, adoption_problems, cents, from_cents
from scs_cli.rules.schema import load_catalogue
from scs_cli.rules.taxonomy import bundled_dir

FILE_KEYS = ("catalogue", "catalogues", "case")
CASE_KEYS = ("name", "source", "as_of", "events", "voids", "lifts", "objections", "consents",
             "repairs", "expect", "disputed")
EXPECT_KEYS = ("score", "tier", "rewards", "sanctions", "lists", "events", "scored",
               "refused")
EVENT_KEYS = ("resident_id", "indicator", "occurred_on", "points", "agency")
EVENT_EXPECT_KEYS = ("status", "points")
RESIDENT = "r1"  # the resident of a case whose events name none


class CasesError(ProblemsError):
    """A case file that cannot be read: each problem names the file, the key path and why."""


@dataclass(frozen=True)
class Case:
    """One worked example: a resident's records, a date, and what the source says follows."""

    name: str
    source: str
    as_of: date
    resident_id: str
    events: list[dict[str, Any]]
    voids: list[dict[str, Any]]
    lifts: list[dict[str, Any]]
    objections: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    repairs: list[dict[str, Any]]
    expect: dict[str, Any]
    disputed: str | None = None


@dataclass(frozen=True)
class CaseFile:
    path: Path
    history: CatalogueHistory
    cases: list[Case]


@dataclass(frozen=True)
class Outcome:
    """One case's result: ``pass``, ``fail``, ``disputed`` or ``error``."""

    file: str
    name: str
    source: str
    result: str
    expected: dict[str, Any]
    got: dict[str, Any]
    disputed: str | None = None
    reason: str | None = None  # why a case failed or could not run
    mismatches: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The machine form: name, source, result, expected, got (and why, when not pass)."""
        out: dict[str, Any] = {"file": self.file, "name": self.name, "source": self.source,
                               "result": self.result, "expected": self.expected,
                               "got": self.got}
        if self.disputed:
            out["disputed"] = self.disputed
        if self.reason:
            out["reason"] = self.reason
        return out


# --- reading ------------------------------------------------------------------------------

class _Reader:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, where: str, what: str, fix: str = "") -> None:
        self.problems.append(Problem(self.file, where, what, fix))

    def keys(self, table: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(table, dict):
            self.add(where, f"must be a table, not {type(table).__name__}")
            return {}
        for key in table:
            if key not in allowed:
                self.add(f"{where}.{key}" if where else key, "unknown key",
                         "known keys: " + ", ".join(allowed))
        return table

    def date(self, table: dict[str, Any], key: str, where: str, required: bool = True
             ) -> date | None:
        value = table.get(key)
        if value is None:
            if required:
                self.add(f"{where}.{key}", "missing", "give a TOML date such as 2019-06-30")
            return None
        if not isinstance(value, date) or hasattr(value, "hour"):
            self.add(f"{where}.{key}", f"must be a TOML date, not {value!r}",
                     "write it unquoted, such as 2019-06-30")
            return None
        return value

    def text(self, table: dict[str, Any], key: str, where: str, required: bool = True
             ) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                self.add(f"{where}.{key}", "missing")
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(f"{where}.{key}", "must be a non-empty string")
            return None
        return value

    def decimal(self, value: Any, where: str) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            self.add(where, f"must be a number, not {value!r}")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.add(where, f"must be a number, not {value!r}")
            return None
        if not number.is_finite() or abs(number) > 1_000_000:
            self.add(where, f"{value} is not a number within ±1,000,000")
            return None
        if number != number.quantize(Decimal("0.01")):
            self.add(where, f"{value} has more than 2 decimal places")
            return None
        return number

    def rows(self, table: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            self.add(f"{where}.{key}", "must be an array of inline tables",
                     f"write {key} = [{{ … }}, …]")
            return []
        return value


def load_cases(path: str | Path) -> CaseFile:
    """Read a case file and its catalogue; raise `CasesError` listing every problem."""
    path = Path(path)
    file = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except FileNotFoundError:
        raise CasesError([Problem(file, "", "no such file", "check the path")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CasesError([Problem(file, "", f"cannot be read: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise CasesError([Problem(file, "", f"TOML syntax error: {exc}",
                                  "fix the syntax at that line")]) from None
    r = _Reader(file)
    r.keys(doc, "", FILE_KEYS)
    history = _history(r, doc, path)
    # No [[case]] is allowed: a catalogue whose sources give no example it can check yet
    # (Nanyang's and Wuxi's are about lists) still ships its file, saying so.
    raw_cases = doc.get("case", [])
    if not isinstance(raw_cases, list):
        r.add("case", "must be an array of tables", "write each case as [[case]]")
        raw_cases = []
    cases = [c for i, raw in enumerate(raw_cases)
             if (c := _case(r, raw, f"case[{i}]", history)) is not None]
    names = [c.name for c in cases]
    for name in sorted({n for n in names if names.count(n) > 1}):
        r.add("case", f"the name {name!r} is used twice", "give each case its own name")
    if r.problems:
        raise CasesError(r.problems)
    assert history is not None
    return CaseFile(path, history, cases)


def _catalogue_path(name: Any, base: Path) -> Path:
    """A path relative to the case file, or the name of a bundled catalogue."""
    relative = base / str(name)
    if relative.exists():
        return relative
    bundled = bundled_dir() / f"{name}.toml"
    return bundled if bundled.exists() else relative


def _history(r: _Reader, doc: dict[str, Any], path: Path) -> CatalogueHistory | None:
    if ("catalogue" in doc) == ("catalogues" in doc):
        r.add("catalogue", "give exactly one of `catalogue` (a bundled name or a path) and "
              "`catalogues` (versions adopted in order)")
        return None
    names = [doc["catalogue"]] if "catalogue" in doc else doc["catalogues"]
    key = "catalogue" if "catalogue" in doc else "catalogues"
    if not isinstance(names, list) or not names or \
            not all(isinstance(n, str) and n for n in names):
        r.add(key, "must name a catalogue (a string), or list catalogue versions (strings)")
        return None
    versions: list[Catalogue] = []
    for i, name in enumerate(names):
        where = key if key == "catalogue" else f"catalogues[{i}]"
        try:
            catalogue = load_catalogue(_catalogue_path(name, path.parent))
        except ProblemsError as exc:
            r.add(where, f"catalogue {name!r} cannot be used: " + "; ".join(exc.lines()),
                  "give a bundled name such as rongcheng-2016 or a path relative to this file")
            return None
        problems = adoption_problems(versions, catalogue)
        if problems:
            r.add(where, f"{name!r} cannot follow the versions before it: {problems[0]}")
            return None
        versions.append(catalogue)
    return CatalogueHistory(versions)


def _case(r: _Reader, raw: Any, where: str, history: CatalogueHistory | None) -> Case | None:
    raw = r.keys(raw, where, CASE_KEYS)
    if not raw:
        return None
    before = len(r.problems)
    name = r.text(raw, "name", where)
    where = f"case {name!r}" if name else where
    source = r.text(raw, "source", where)
    as_of = r.date(raw, "as_of", where)
    disputed = r.text(raw, "disputed", where, required=False)
    events = _events(r, raw, where, history)
    residents = {e["resident_id"] for e in events}
    if len(residents) > 1:
        r.add(f"{where}.events", f"names residents {sorted(residents)}: a case concerns one "
              "resident", "split it into one case per resident")
    resident = residents.pop() if len(residents) == 1 else RESIDENT
    numbers = range(1, len(events) + 1)
    voids = [{"event_id": _event_no(r, v, f"{where}.voids[{i}]", numbers, ("event", "reason"))}
             for i, v in enumerate(r.rows(raw, "voids", where))]
    lifts = [{"event_id": _event_no(r, v, f"{where}.lifts[{i}]", numbers, ("event", "on")),
              "lifted_on": r.date(v, "on", f"{where}.lifts[{i}]")}
             for i, v in enumerate(r.rows(raw, "lifts", where))]
    objections = []
    for i, o in enumerate(r.rows(raw, "objections", where)):
        w = f"{where}.objections[{i}]"
        event = _event_no(r, o, w, numbers, ("event", "filed_on", "decided_on", "outcome"))
        outcome = o.get("outcome")
        if outcome not in (None, "upheld", "rejected"):
            r.add(f"{w}.outcome", f"{outcome!r} is not an outcome", "upheld or rejected")
        if (outcome is None) != ("decided_on" not in o):
            r.add(w, "give decided_on and outcome together, or neither (a pending objection)")
        objections.append({"objection_id": i + 1, "event_id": event,
                           "filed_on": r.date(o, "filed_on", w),
                           "decided_on": r.date(o, "decided_on", w, required=False),
                           "outcome": outcome})
    consents = []
    for i, c in enumerate(r.rows(raw, "consents", where)):
        w = f"{where}.consents[{i}]"
        r.keys(c, w, ("resident_id", "on", "consent"))
        if not isinstance(c.get("consent", True), bool):
            r.add(f"{w}.consent", "must be true or false")
        consents.append({"resident_id": c.get("resident_id", resident), "on": r.date(c, "on", w),
                         "consent": c.get("consent", True), "seq": i + 1})
    repairs = []
    for i, p in enumerate(r.rows(raw, "repairs", where)):
        w = f"{where}.repairs[{i}]"
        r.keys(p, w, ("resident_id", "list", "filed_on", "decided_on", "granted"))
        repairs.append({"resident_id": p.get("resident_id", resident),
                        "list": r.text(p, "list", w), "filed_on": r.date(p, "filed_on", w),
                        "decided_on": r.date(p, "decided_on", w, required=False),
                        "granted": p.get("granted")})
    expect = _expect(r, raw.get("expect"), f"{where}.expect", len(events))
    if len(r.problems) > before:
        return None
    assert name and source and as_of
    return Case(name, source, as_of, resident, events, voids, lifts, objections, consents,
                repairs, expect, disputed)


def _event_no(r: _Reader, row: dict[str, Any], where: str, numbers: range,
              allowed: tuple[str, ...]) -> int | None:
    r.keys(row, where, allowed)
    number = row.get("event")
    if isinstance(number, bool) or not isinstance(number, int) or number not in numbers:
        r.add(f"{where}.event", f"{number!r} is not an event of this case",
              f"events are numbered 1 to {len(numbers)} in order")
        return None
    return number


def _events(r: _Reader, raw: dict[str, Any], where: str, history: CatalogueHistory | None
            ) -> list[dict[str, Any]]:
    events = []
    for i, e in enumerate(r.rows(raw, "events", where)):
        w = f"{where}.events[{i}]"
        r.keys(e, w, EVENT_KEYS)
        indicator = r.text(e, "indicator", w)
        occurred = r.date(e, "occurred_on", w)
        points = r.decimal(e["points"], f"{w}.points") if "points" in e else None
        if history is not None and indicator and occurred and \
                not any(indicator in v.indicators for v in history):
            r.add(f"{w}.indicator", f"{indicator!r} is not an indicator of the catalogue")
        events.append({"event_id": i + 1, "resident_id": str(e.get("resident_id", RESIDENT)),
                       "indicator": indicator, "occurred_on": occurred,
                       "points": points, "agency": e.get("agency")})
    return events


def _expect(r: _Reader, raw: Any, where: str, n_events: int) -> dict[str, Any]:
    if raw is None:
        r.add(where, "missing", "say what the source says follows, e.g. "
              "expect = { score = 990, tier = \"A\" }")
        return {}
    raw = r.keys(raw, where, EXPECT_KEYS)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        w = f"{where}.{key}"
        if key == "score":
            if (number := r.decimal(value, w)) is not None:
                out[key] = number
        elif key in ("tier", "refused"):
            if isinstance(value, str) and value:
                out[key] = value
            else:
                r.add(w, "must be a non-empty string")
        elif key == "scored":
            if isinstance(value, bool):
                out[key] = value
            else:
                r.add(w, "must be true or false")
        elif key in ("rewards", "sanctions", "lists"):
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                out[key] = sorted(value)
            else:
                r.add(w, "must be an array of ids (strings)")
        elif key == "events":
            out[key] = _expect_events(r, value, w, n_events)
    return out


def _expect_events(r: _Reader, value: Any, where: str, n_events: int) -> dict[int, Any]:
    if not isinstance(value, dict):
        r.add(where, "must be a table of event numbers, e.g. { 1 = { status = \"counted\" } }")
        return {}
    out: dict[int, Any] = {}
    for key, want in value.items():
        w = f"{where}.{key}"
        if not key.isdigit() or not 1 <= int(key) <= n_events:
            r.add(w, f"{key!r} is not an event of this case",
                  f"events are numbered 1 to {n_events} in order")
            continue
        want = r.keys(want, w, EVENT_EXPECT_KEYS)
        row: dict[str, Any] = {}
        if "status" in want:
            row["status"] = want["status"]
        if "points" in want and (number := r.decimal(want["points"], f"{w}.points")) is not None:
            row["points"] = number
        out[int(key)] = row
    return out


# --- running ------------------------------------------------------------------------------

def bundled_case_paths() -> list[Path]:
    """The case files shipped beside the bundled catalogues (``<name>.cases.toml``)."""
    return sorted(bundled_dir().glob("*.cases.toml"))


def resolve_cases_path(name: str | Path) -> Path:
    """A path as given, or a bundled catalogue's name (``rongcheng-2016``: its cases)."""
    path = Path(name)
    if path.exists() or path.suffix:
        return path
    bundled = bundled_dir() / f"{name}.cases.toml"
    return bundled if bundled.exists() else path


def run_case_files(paths: list[Path]) -> list[Outcome]:
    """Load every file first (so a bad file stops the run before anything is reported)."""
    files = [load_cases(resolve_cases_path(p)) for p in paths]
    return [run_case(f, case) for f in files for case in f.cases]


def run_case(case_file: CaseFile, case: Case) -> Outcome:
    """Score one case in memory and compare what the source expects with what it gets."""
    expected = _shown(case.expect)
    file = str(case_file.path)

    def outcome(result: str, got: dict[str, Any], reason: str | None = None,
                mismatches: list[str] | None = None) -> Outcome:
        if result == "fail" and case.disputed:
            result = "disputed"
        return Outcome(file, case.name, case.source, result, expected, got, case.disputed,
                       reason, mismatches or [])

    refusal = _refusal(case_file.history, case)
    if "refused" in case.expect or refusal:
        got = {"refused": refusal} if refusal else {"refused": None}
        want = case.expect.get("refused")
        if want is not None and refusal is not None and want in refusal:
            return outcome("pass", got)
        reason = refusal if want is None else f"expected a refusal mentioning {want!r}"
        return outcome("fail", got, reason)
    try:
        got = standing(case_file.history, case)
    except ScsError as exc:
        return outcome("fail", {}, str(exc))
    mismatches = [key for key in case.expect if got.get(key) != case.expect[key]]
    shown = _shown({k: got.get(k) for k in case.expect})
    if mismatches:
        return outcome("fail", shown, "differs in " + ", ".join(mismatches), mismatches)
    return outcome("pass", shown)


def _refusal(history: CatalogueHistory, case: Case) -> str | None:
    """Why `scs ledger import` would refuse one of the case's events (points against the
    rule in force on its date), or None."""
    for e in case.events:
        rule = (v := history.in_force(e["occurred_on"])) and v.indicators.get(e["indicator"])
        if not rule:
            continue  # an event before the catalogue or under a dropped rule: the kernel says
        number = e["event_id"]
        if rule.points_range is None and e["points"] is not None:
            return f"event {number}: indicator {rule.id!r} has fixed points; give none"
        if rule.points_range is not None:
            low, high = rule.points_range
            if e["points"] is None:
                return f"event {number}: indicator {rule.id!r} needs points from {low} to {high}"
            if not low <= e["points"] <= high:
                return (f"event {number}: {e['points']} is outside the range of indicator "
                        f"{rule.id!r} (give points from {low} to {high})")
    return None


def standing(history: CatalogueHistory, case: Case) -> dict[str, Any]:
    """The case resident's score, tier, rewards, sanctions and events, from the kernel."""
    events = [{**e, "points": cents(e["points"]) if e["points"] is not None else None}
              for e in case.events]
    repairs = [{"repair_id": i + 1, "resident_id": r["resident_id"], "list_id": r["list"],
                "filed_on": r["filed_on"], "decided_on": r["decided_on"],
                "outcome": None if r["decided_on"] is None
                else ("granted" if r["granted"] in (None, True) else "refused")}
               for i, r in enumerate(case.repairs)]
    data = LedgerData.build(events=events, voids=case.voids, lifts=case.lifts,
                            objections=case.objections, consents=case.consents,
                            repairs=repairs)
    result = score(data, history, case.as_of)
    listed = listings_of(data, history, case.as_of).filter(
        pl.col("resident_id") == case.resident_id)
    measures = sorted(m for ms in listed["measures"].to_list() for m in ms)
    rows = result.residents.filter(pl.col("resident_id") == case.resident_id)
    got: dict[str, Any] = {"scored": bool(rows.height)}
    if rows.height:
        row = rows.row(0, named=True)
        # The measures in force: sanctions by tier, and those on a list the resident is on.
        got.update(score=from_cents(row["score"]), tier=row["tier"],
                   rewards=sorted(row["rewards"]),
                   sanctions=sorted(row["sanctions"] + measures))
    elif not case.events and result.scheme.policy.participation == "all":
        got.update(clean_standing(result.scheme))  # no records: the kernel has no row
    got["events"] = {
        e["event_id"]: {"status": e["status"],
                        "points": from_cents(e["points"]) if e["points"] is not None
                        else Decimal(0)}
        for e in result.events.iter_rows(named=True)}
    if "events" in case.expect:  # compare only what the case states of each event
        got["events"] = {n: {k: got["events"].get(n, {}).get(k) for k in want}
                         for n, want in case.expect["events"].items()}
    got["lists"] = sorted(listed["list"].to_list())
    return got


def clean_standing(scheme: Catalogue) -> dict[str, Any]:
    """Steps 7–9 for a resident with no records: the base, clamped, and what it earns."""
    base = scheme.scale.clean
    tier = scheme.tier_for(base)
    rank = scheme.tier_rank(tier)
    rewards = [rid for rid, rw in scheme.rewards.items()
               if rank <= scheme.tier_rank(rw.min_tier)
               and (rw.max_tier is None or rank >= scheme.tier_rank(rw.max_tier))
               and (rw.min_score is None or base >= rw.min_score)
               and (rw.max_score is None or base <= rw.max_score)]
    sanctions = [sid for sid, s in scheme.tier_sanctions.items()
                 if s.max_tier is not None and rank >= scheme.tier_rank(s.max_tier)]
    return {"score": base, "tier": tier, "rewards": sorted(rewards),
            "sanctions": sorted(sanctions)}


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    """Event numbers as strings (JSON object keys); decimals stay exact for the writers."""
    if "events" in values and isinstance(values["events"], dict):
        values = {**values, "events": {str(k): v for k, v in values["events"].items()}}
    return values


def outcome_lines(values: dict[str, Any]) -> str:
    """Expected or got values as text lines, ``events.1 = status counted, points -10``."""
    def text(v: Any) -> str:
        if isinstance(v, Decimal):
            return decimal_text(v)
        if isinstance(v, list):
            return "[" + ", ".join(text(x) for x in v) + "]"
        return "none" if v is None else str(v)

    lines = []
    for key, value in values.items():
        if key == "events" and isinstance(value, dict):
            lines += [f"events.{n} = " + ", ".join(f"{k} {text(x)}" for k, x in row.items())
                      for n, row in value.items()]
        else:
            lines.append(f"{key} = {text(value)}")
    return "\n".join(lines)
