"""Policy audit of a valid catalogue against the criticisms in the literature.

Validation (catalogue_schema) says whether a file *can* be scored; lint says what a
reader of the literature would object to. Every check is one small function in a
registry (`CHECKS`), with a stable code, a name and one severity; docs/lint.md documents
every registered code (a test keeps the two in step). Checks live here or in a module of
their own that registers them with `@check` and is named in `CHECK_MODULES` at the end of
this file (`reach`: tiers and rewards no resident can reach).

"Adverse" below means an indicator whose events can cost points or cap the score or the
tier: a `points = 0` rule with `tier_cap = "B"` punishes as surely as a deduction.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from scs_cli.core.errors import CatalogueError, Problem
from scs_cli.core.output import markdown_document
from scs_cli.rules.durations import Duration
from scs_cli.rules.model import Catalogue, Indicator
from scs_cli.rules.schema import is_taxonomy_file, load_catalogue, resolve_catalogue_path
from scs_cli.rules.taxonomy import Taxonomy, default_taxonomy

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

# Sources, named as in the bibliography catalogues/SOURCES.md.
REG_2013 = "national credit-reporting regulation 2013 (征信业管理条例)"
ART14 = f"{REG_2013} art. 14; Shanghai Social Credit Regulations 2017 art. 14"
ART16 = (f"{REG_2013} art. 16; Shanghai 2017 art. 35, Shandong 2020 art. 38, "
         "Zhejiang 2017 art. 16, Henan 2019 art. 19")
NDRC_2019 = "NDRC statement of July 2019 (Encyclopedia)"
NDRC_2020 = ("NDRC's guidance of 2020 says petitioning, unpaid property fees and running red "
             "lights must not be included in a person's credit record (Encyclopedia)")
DIRECTORY_2021 = "National Directory of Public Credit Information, December 2021 (Encyclopedia)"
# Behaviours the NDRC's 2020 guidance names as never part of a person's credit record.
NDRC_EXCLUDED = {"public-order.petitioning": "petitioning", "traffic.red-light":
                 "running red lights", "utilities.property-fee-arrears": "unpaid property fees"}
# Records the 2021 National Directory treats as public credit information (judgments and
# administrative penalties): not scope creep, whatever the taxonomy's domain kind.
PUBLIC_CREDIT_DOMAINS = {"crime"}
PUBLIC_CREDIT_BEHAVIOURS = {"public-order.administrative-penalty"}

# The longest span any 5 calendar years can have: 5 × 365 days + 2 leap days.
FIVE_YEARS_MAX_DAYS = 5 * 365 + 2
OBJECTION_DAYS = 20  # national regulation art. 25: objections handled within 20 days


@dataclass(frozen=True)
class Finding:
    """One thing the literature objects to, in one catalogue."""

    code: str                # stable, e.g. "SCS101"
    name: str                # e.g. "prohibited-data"
    severity: Severity
    indicator: str | None    # None: the catalogue as a whole
    message: str             # what, why, and the source of the concern

    @property
    def title(self) -> str:
        return f"{self.code} {self.name}"

    def as_dict(self, file: str | None = None) -> dict[str, Any]:
        """The JSON shape: exactly code, severity, indicator, message (and file if given)."""
        record: dict[str, Any] = {"code": self.code, "severity": self.severity,
                                  "indicator": self.indicator, "message": self.message}
        if file is not None:
            record["file"] = file
        return record


Hit = tuple[str | None, str]  # (indicator id or None, message)
CheckFn = Callable[[Catalogue, Taxonomy], Iterator[Hit]]


@dataclass(frozen=True)
class Check:
    code: str
    name: str
    severity: Severity
    summary: str
    run: CheckFn


CHECKS: dict[str, Check] = {}


def check(code: str, name: str, severity: Severity, summary: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check; codes and names must be unique (they are public API)."""

    def register(fn: CheckFn) -> CheckFn:
        if code in CHECKS or any(c.name == name for c in CHECKS.values()):
            raise ValueError(f"lint check {code} {name} registered twice")
        CHECKS[code] = Check(code, name, severity, summary, fn)
        return fn

    return register


def lint(catalogue: Catalogue, taxonomy: Taxonomy | None = None) -> list[Finding]:
    """Every finding of every registered check, ordered by code, then catalogue order."""
    taxonomy = taxonomy or default_taxonomy()
    position = {iid: i for i, iid in enumerate(catalogue.indicators)}
    findings = [
        Finding(c.code, c.name, c.severity, indicator, message)
        for c in CHECKS.values()
        for indicator, message in c.run(catalogue, taxonomy)
    ]
    findings.sort(key=lambda f: (f.code, -1 if f.indicator is None
                                 else position.get(f.indicator, len(position))))
    return findings


# ----------------------------------------------------------------------------- helpers


def is_adverse(ind: Indicator) -> bool:
    """Can an event of this indicator cost points or cap the score or the tier?"""
    return ind.is_negative or ind.tier_cap is not None or ind.score_cap is not None


def _adverse(cat: Catalogue) -> Iterator[Indicator]:
    return (i for i in cat.indicators.values() if is_adverse(i))


def _what(ind: Indicator) -> str:
    code = f", {ind.behavior}" if ind.behavior else ""
    return f"{ind.name!r} ({ind.describe_points()}{code})"


def _longer_than_five_years(d: Duration) -> bool:
    """Longer than 5 calendar years whatever the start date (60 months, 1827 days)."""
    if d.unit == "y":
        return d.amount > 5
    if d.unit == "m":
        return d.amount > 60
    return d.amount * (7 if d.unit == "w" else 1) > FIVE_YEARS_MAX_DAYS


def _text(ind: Indicator) -> str:
    return f"{ind.name} {ind.id.replace('-', ' ')}"


# Words that name data which must not be collected (matched on the indicator's name and id,
# whole words, case-insensitive). "Donating blood" and "in good faith" must not match.
PROHIBITED_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE)) for label, pattern in (
        ("ethnicity", r"\bethnic(ity|ities)?\b|\bminority nationality\b|\bfamily background\b"),
        ("religion or belief", r"\breligio(n|ns|us)\b|\bbeliefs?\b|\bsuperstitio(n|ns|us)\b"
                               r"|\bheretical\b|\bcults?\b"),
        ("party membership", r"\bparty membership\b|\bmembership of (a|the) (political )?party\b"),
        ("genes", r"\bgen(e|es|etic|etics|ome)\b|\bDNA\b"),
        ("fingerprints", r"\bfingerprints?\b|\bbiometrics?\b"),
        ("blood type", r"\bblood[- ](type|group)s?\b"),
        ("diseases and medical history", r"\bdiseases?\b|\bmedical (history|records?)\b"),
        ("body shape", r"\bbody[- ]shape\b"),
    )
)
PARTY_ONLY = re.compile(r"\bparty members?\b|\bintra-party\b|\bparty discipline\b",
                        re.IGNORECASE)
# party.* codes that score what Party members do, rather than record membership as such.
PARTY_MEMBERSHIP_CODE = "party.membership"


# ----------------------------------------------------------------- data and persons (1xx)


@check("SCS101", "prohibited-data", "error",
       "scores data that must not be collected (ethnicity, religion or belief, party "
       "membership, genes, fingerprints, blood type, diseases, body shape)")
def _prohibited_data(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in cat.indicators.values():
        domain = tax.domain_of(ind.behavior) if ind.behavior else None
        if domain and domain.kind == "protected" and (
                domain.id != "party" or ind.behavior == PARTY_MEMBERSHIP_CODE):
            yield ind.id, (
                f"{_what(ind)} scores {domain.name.lower()}, data that must not be collected "
                f"as credit information ({ART14}; Shanghai and Puyang per Liu 2019); remove "
                "the indicator")
            continue
        words = [label for label, rx in PROHIBITED_WORDS if rx.search(_text(ind))]
        if words:
            yield ind.id, (
                f"{_what(ind)} names {' and '.join(words)}, data that must not be collected "
                f"as credit information ({ART14}; Shanghai and Puyang per Liu 2019); remove "
                "the indicator, or give it a behaviour code if the name misleads")


@check("SCS102", "party-members-only", "warning",
       "applies to members of the Communist Party only")
def _party_members_only(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in cat.indicators.values():
        domain = tax.domain_of(ind.behavior) if ind.behavior else None
        by_code = (domain is not None and domain.id == "party"
                   and ind.behavior != PARTY_MEMBERSHIP_CODE)
        if by_code or PARTY_ONLY.search(_text(ind)):
            yield ind.id, (
                f"{_what(ind)} applies to Party members only: scoring it needs Party "
                "membership, which Shanghai and Puyang forbid collecting (Liu 2019; the 2012 "
                f"national draft), and it scores residents unequally (Liu 2019 reports a "
                "Rongcheng section on Party members' conduct); keep Party discipline out of "
                "the resident catalogue")


@check("SCS103", "penalty-for-relative", "error",
       "deducts points from a person for a relative's conduct")
def _penalty_for_relative(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in _adverse(cat):
        if ind.applies_to == "relative":
            yield ind.id, (
                f"{_what(ind)} punishes a person for a relative's conduct (applies_to = "
                "\"relative\"): the record says nothing of the person's own conduct, and "
                "every indicator needs a specific moral meaning about the person scored or "
                "people challenge its legitimacy (Liu 2019); remove it or score the relative")


@check("SCS104", "penalty-for-guarantor", "warning",
       "deducts points from a guarantor for the debtor's default")
def _penalty_for_guarantor(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in _adverse(cat):
        if ind.applies_to == "guarantor":
            yield ind.id, (
                f"{_what(ind)} punishes a guarantor for the debtor's default (applies_to = "
                "\"guarantor\"; Liu 2019 reports this of Rongcheng): the guarantor's contract "
                "liability is a court's matter, a score deduction adds a second penalty for "
                "another person's conduct; score only a guarantor who refuses a judgment to pay")


@check("SCS105", "reward-for-relative", "info",
       "awards points for a relative's status or deed")
def _reward_for_relative(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in cat.indicators.values():
        if ind.applies_to != "self" and not is_adverse(ind) and ind.is_positive:
            yield ind.id, (
                f"{_what(ind)} rewards a person for a {ind.applies_to}'s status or deed "
                "(Liu 2019: Rongcheng's +5 for a soldier's family, +100 for an organ donor's "
                "family): the score then measures family ties, not creditworthiness")


# ------------------------------------------------------------------- retention (2xx)


@check("SCS201", "retention-over-5-years", "error",
       "a negative record counts for more than 5 years")
def _retention(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in _adverse(cat):
        if ind.expires_after is not None and _longer_than_five_years(ind.expires_after):
            yield ind.id, (
                f"{_what(ind)} counts for {ind.expires_after}, longer than the 5 years after "
                f"which negative information must be deleted ({ART16}); set expires_after "
                "to 5y or less")


@check("SCS202", "never-expires", "warning",
       "a negative record never stops counting")
def _never_expires(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in _adverse(cat):
        if ind.expires_after is None:
            yield ind.id, (
                f"{_what(ind)} has no expires_after, so it counts until lifted: negative "
                f"information must be deleted 5 years after the conduct ({ART16}; Creemers "
                "2018: catalogues limit how long infractions are listed); set expires_after")


@check("SCS203", "escalation-memory", "warning",
       "escalation counts offences older than 5 years")
def _escalation_memory(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in cat.indicators.values():
        if ind.escalation is None or not ind.is_negative:
            continue
        window = ind.escalation_window
        if window is None or _longer_than_five_years(window):
            span = "no escalation_window" if window is None else f"escalation_window {window}"
            yield ind.id, (
                f"{_what(ind)} has {span}: an offence keeps raising later penalties after it "
                f"has expired, beyond the 5 years after which it must be deleted ({ART16}); "
                "set escalation_window to 5y or less")


# -------------------------------------------------------- basis, scope, transparency (3xx)


@check("SCS301", "no-legal-basis", "warning",
       "a negative indicator names no legal basis")
def _no_legal_basis(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in _adverse(cat):
        if not ind.basis:
            yield ind.id, (
                f"{_what(ind)} gives no basis: a penalty without a law behind it is what the "
                "literature criticises (Liu 2019: indicators need a specific meaning or their "
                "legitimacy is challenged; Liu & Rona-Tas 2024: a third of a model city's "
                "offences fall under no existing law); name the law and article in basis")


@check("SCS302", "scope-creep", "warning",
       "penalises conduct unrelated to creditworthiness")
def _scope_creep(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in _adverse(cat):
        domain = tax.domain_of(ind.behavior) if ind.behavior else None
        if domain is None or domain.kind != "other" or ind.behavior in NDRC_EXCLUDED:
            continue  # the NDRC's own exclusions are SCS307
        if domain.id in PUBLIC_CREDIT_DOMAINS or ind.behavior in PUBLIC_CREDIT_BEHAVIOURS:
            continue  # judgments and administrative penalties: public credit information
        yield ind.id, (
            f"{_what(ind)} penalises {domain.name.lower()}, conduct outside the "
            "credit-related domains: scope creep erodes trust (Risks essay: parking, "
            "electricity fees, garbage sorting, eating in the subway; Shenzhen 2023 art. 29: "
            "no factors unrelated to credit); leave it to the law that governs the conduct")


@check("SCS307", "ndrc-excluded-conduct", "error",
       "penalises conduct the NDRC says must not enter a credit record")
def _ndrc_excluded(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in _adverse(cat):
        if ind.behavior in NDRC_EXCLUDED:
            yield ind.id, (
                f"{_what(ind)} penalises {NDRC_EXCLUDED[ind.behavior]}: the {NDRC_2020}; "
                f"the {DIRECTORY_2021} also bans petitioning; remove it")


@check("SCS303", "unpublished-rule", "warning",
       "a rule is not published")
def _unpublished(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in cat.indicators.values():
        if not ind.published:
            yield ind.id, (
                f"{_what(ind)} is marked published = false: residents cannot know the "
                "benchmark they are scored by (Creemers 2018; Liu 2019: Fuzhou kept its "
                "negative indicators secret; Shenzhen 2023 art. 39: a right to know the "
                "evaluation rules); publish it or drop it")


@check("SCS304", "wide-discretion", "warning",
       "a points range leaves the reporting agency wide discretion")
def _wide_discretion(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in _adverse(cat):
        if ind.points_range is None:
            continue
        low, high = ind.points_range  # low is the worst; both <= 0 for a penalty
        if abs(low) > 2 * abs(high):
            yield ind.id, (
                f"{_what(ind)} lets the reporting agency choose any value from "
                f"{_num(high)} to {_num(low)}: the worst is more than twice the mildest, so "
                "the agency, not the published rule, sets the penalty (Creemers 2018: "
                "residents need to know the benchmarks); split it into graded indicators")


@check("SCS305", "assumed-values", "info",
       "values no source gives, marked assumed")
def _assumed_values(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    marks = cat.assumptions()
    if not marks:
        return
    shown = [f"{path}.{key}" for path, key in marks[:MAX_LISTED]]
    more = f" and {len(marks) - MAX_LISTED} more" if len(marks) > MAX_LISTED else ""
    yield None, (
        f"{len(marks)} value{'s' * (len(marks) != 1)} {'are' if len(marks) != 1 else 'is'} "
        f"the compiler's assumption, not a published figure ({', '.join(shown)}{more}): a "
        "score or tier that rests on them is a guess, not the law (SPEC §2 Provenance; "
        "Creemers 2018: residents need to know the benchmarks); check them against a "
        "primary source, then drop them from `assumed`")


MAX_LISTED = 6  # keys named in the message; the count covers them all

# A citation that names a file (a path ending in a document suffix), not a published work;
# web addresses are findable and are not matched.
FILE_CITATION = re.compile(r"(?<![\w:/.])(?:\.{0,2}/)?(?:[\w.-]+/)*[\w-]+\."
                           r"(?:md|txt|toml|csv|json|ya?ml|docx?|xlsx?|odt)\b")


def _file_cited(text: str) -> str | None:
    """The file a citation names, if any (ignoring web addresses)."""
    words = [w for w in re.split(r"[\s;,()]+", text) if not re.match(r"(?i)https?://", w)]
    for word in words:
        m = FILE_CITATION.search(word)
        if m:
            return m.group(0)
    return None


@check("SCS306", "file-as-source", "warning",
       "a citation names a file, not a published work")
def _file_as_source(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for i, text in enumerate(cat.sources):
        found = _file_cited(text)
        if found:
            yield None, (f"sources[{i}] cites the file {found!r}: a reader of the catalogue "
                         "cannot follow it (SPEC §2 Provenance: cite author, year, title and "
                         "page or article, never a file outside the catalogue's repository); "
                         "cite the publication the file reports")
    for ind in cat.indicators.values():
        found = _file_cited(ind.source or "")
        if found:
            yield ind.id, (f"{_what(ind)} cites the file {found!r} as its source: a reader "
                           "cannot follow it (SPEC §2 Provenance); cite the publication the "
                           "file reports (author, year, title, page or article)")


# ------------------------------------------------------------- what scores lead to (4xx)


@check("SCS401", "sanction-on-score", "warning",
       "punishments are attached to personal scores")
def _sanctions(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for s in cat.tier_sanctions.values():  # a measure on a court's list is a legal one
        yield None, (
            f"sanction {s.id!r} ({s.name!r}, tier {s.max_tier} or worse) punishes a low "
            f"score: personal scores may be combined with incentives but not punishments "
            f"({NDRC_2019}; Rongcheng 2021: a low score alone is never a basis for penalties); "
            "remove it, or set mode = \"rewards-only\" without sanctions")


@check("SCS402", "non-judicial-cap", "warning",
       "a tier or score cap is imposed by a non-judicial indicator")
def _non_judicial_cap(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in cat.indicators.values():
        if ind.tier_cap is None and ind.score_cap is None:
            continue
        domain = tax.domain_of(ind.behavior) if ind.behavior else None
        if domain is not None and domain.id == "judicial":
            continue
        caps = " and ".join(x for x in (
            f"tier at most {ind.tier_cap}" if ind.tier_cap else "",
            f"score at most {_num(ind.score_cap)}" if ind.score_cap is not None else "",
        ) if x)
        yield ind.id, (
            f"{_what(ind)} caps the {caps} without a court or enforcement record behind it: "
            "in most municipal SCS rules it is a listed judgment defaulter who is put "
            "straight into the lowest level (Liu 2019); one administrative record overriding "
            "the whole score is "
            "what The Nation 2019 reports of petitioning (category B); give it a judicial "
            "behaviour code or drop the cap")


@check("SCS403", "penalties-in-rewards-only", "info",
       "a rewards-only catalogue still deducts points")
def _penalties_in_rewards_only(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    if cat.mode != "rewards-only":
        return
    negative = [i.id for i in _adverse(cat)]
    if negative:
        yield None, (
            f"mode is rewards-only but {len(negative)} indicator(s) still lower the score "
            f"({', '.join(negative[:5])}"
            f"{f' and {len(negative) - 5} more' if len(negative) > 5 else ''}): residents read "
            "rewards-only as no penalties (Wenzhou 2019: positive incentives only; "
            "Rongcheng 2021 keeps court and regulator records as input); say so in the "
            "catalogue's notes")


# ------------------------------------------------------------------ objections (5xx)


@check("SCS501", "no-objection-deadline", "info",
       "no deadline for deciding objections")
def _no_objection_deadline(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    if cat.policy.objection_deadline is None:
        yield None, (
            "policy.objection_deadline is not set: residents cannot tell when an objection "
            f"must be decided ({REG_2013} art. 25: within 20 days; Shanghai 2017 art. 36: 5 "
            "working days; Risks essay: citizens should be able to correct records); set it")


@check("SCS502", "slow-objections", "warning",
       "objections may take longer than 20 days")
def _slow_objections(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    deadline = cat.policy.objection_deadline
    if deadline is not None and deadline.approx_days() > OBJECTION_DAYS:
        yield None, (
            f"policy.objection_deadline is {deadline}, longer than the 20 days the national "
            f"regulation allows for handling an objection ({REG_2013} art. 25); set it to "
            "20d or less")


@check("SCS503", "objection-does-not-suspend", "info",
       "a contested event keeps counting while the objection is pending")
def _objection_does_not_suspend(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    if not cat.policy.objection_suspends:
        yield None, (
            "policy.objection_suspends is false: a contested record lowers the score until "
            f"the objection is decided, although the regulations have it flagged at once "
            f"({REG_2013} art. 25; Shanghai 2017 art. 36; Shenzhen 2023 arts. 48-51); "
            "consider suspending it")


@check("SCS504", "no-office", "info",
       "no [office] for residents to deal with")
def _no_office(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    if cat.office is None:
        yield None, (
            "no [office] table: a statement cannot tell a resident whom to write to, where, "
            "or by when to object (SPEC §5); add [office] with name, address, contact and "
            "objection_window")


# ---------------------------------------------------------------- taxonomy hygiene (9xx)


@check("SCS901", "unlisted-behaviour", "info",
       "a behaviour code is not listed in the taxonomy")
def _unlisted(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in cat.indicators.values():
        if ind.behavior and tax.domain_of(ind.behavior) and not tax.is_listed(ind.behavior):
            yield ind.id, (
                f"{_what(ind)}: behaviour {ind.behavior!r} is not listed in the taxonomy's "
                "domain, so no other city aligns with it in compare; add it to taxonomy.toml "
                "or use a listed code")


@check("SCS902", "no-behaviour-code", "info",
       "a negative indicator has no behaviour code")
def _no_behaviour(cat: Catalogue, tax: Taxonomy) -> Iterator[Hit]:
    for ind in _adverse(cat):
        if not ind.behavior:
            yield ind.id, (
                f"{_what(ind)} has no behaviour code: lint cannot tell whether it is "
                "credit-related or scope creep, and compare cannot align it with other "
                "cities; add behavior = \"domain.name\"")


def _num(value: Decimal | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == value.to_integral_value() else format(
        value.normalize(), "f")


# ------------------------------------------------------------------- several files


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        counts[f.severity] += 1
    return counts


@dataclass(frozen=True)
class LintedFile:
    file: str
    catalogue: Catalogue
    findings: tuple[Finding, ...]

    @property
    def counts(self) -> dict[str, int]:
        return severity_counts(self.findings)


@dataclass(frozen=True)
class LintReport:
    files: tuple[LintedFile, ...]
    skipped: tuple[str, ...] = ()  # behaviour taxonomy files given among the catalogues

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for lf in self.files for f in lf.findings)

    @property
    def counts(self) -> dict[str, int]:
        return severity_counts(f for lf in self.files for f in lf.findings)

    def records(self) -> list[dict[str, Any]]:
        """Findings as JSON objects; with a `file` key only when several files were linted."""
        many = len(self.files) > 1
        return [f.as_dict(lf.file if many else None) for lf in self.files for f in lf.findings]


def lint_files(files: Sequence[str | Path], taxonomy: Taxonomy | None = None) -> LintReport:
    """Load (names of bundled catalogues allowed) and lint each file.

    A file that does not validate is not linted: every problem of every file is raised at
    once as one `CatalogueError`. Taxonomy files (``catalogues/*.toml`` includes one) are
    skipped and named in `LintReport.skipped`.
    """
    taxonomy = taxonomy or default_taxonomy()
    loaded, skipped = load_catalogues(files, taxonomy)
    return LintReport(tuple(LintedFile(f, c, tuple(lint(c, taxonomy))) for f, c in loaded),
                      tuple(skipped))


def load_catalogues(files: Sequence[str | Path], taxonomy: Taxonomy
                    ) -> tuple[list[tuple[str, Catalogue]], list[str]]:
    """([(file as given, catalogue)], [taxonomy files skipped]); every problem at once."""

    loaded: list[tuple[str, Catalogue]] = []
    skipped: list[str] = []
    problems: list[Problem] = []
    for file in files:
        path = resolve_catalogue_path(file)
        if is_taxonomy_file(path):
            skipped.append(str(file))
            continue
        try:
            loaded.append((str(file), load_catalogue(path, taxonomy)))
        except CatalogueError as exc:
            problems.extend(exc.problems)
    if problems:
        raise CatalogueError(problems)
    return loaded, skipped


def lint_summary_markdown(report: LintReport) -> str:
    """A short Markdown table of what lint finds in each catalogue (for the README)."""
    rows = []
    for lf in report.files:
        c = lf.counts
        by_code: dict[str, int] = {}
        for f in lf.findings:
            by_code[f.title] = by_code.get(f.title, 0) + 1
        found = ", ".join(f"`{code}` ×{n}" for code, n in by_code.items()) or "none"
        cat = lf.catalogue
        rows.append([f"{cat.city.name} {cat.version}", str(c["error"]), str(c["warning"]),
                     str(c["info"]), found])
    table = markdown_table(["catalogue", "errors", "warnings", "info", "findings"], rows)
    return markdown_document(table)  # catalogue text: HTML stays text


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; pipes and newlines in cells are escaped."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", "<br>")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# Check modules beyond this file: importing one registers its checks (after `check` exists).
CHECK_MODULES = ("scs_cli.audit.reach", "scs_cli.audit.lint_lists")
for _module in CHECK_MODULES:
    importlib.import_module(_module)
