"""Catalog of customer-lifecycle frameworks (Kundenlebenszyklus-Modelle).

The catalog (``data/lifecycle_phases.yaml``) holds five frameworks, one per source
article, each an ordered list of phases with a German name as the source writes it, an
English name, a description, goals, measures (Massnahmen) and KPIs in English and German.
A crosswalk maps every phase onto one canonical sequence

    awareness → consideration → decision → first_purchase → onboarding → growth
    → retention → loyalty_advocacy → at_risk → win_back

so that the frameworks can be compared side by side, and links the operational phases
that :func:`clvlab.phases.assign_phases` finds in purchase logs (new, growing, retained,
at_risk, lapsed) to the canonical phases whose measures fit them.

Examples
--------
>>> from clvlab import lifecycle
>>> lifecycle.compare(language="de")  # doctest: +SKIP
>>> lifecycle.recommended_measures("at_risk")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from clvlab import phases
from clvlab.datasets import data_path
from clvlab.errors import DataValidationError

Language = Literal["en", "de"]
LANGUAGES: tuple[str, ...] = ("en", "de")
CATALOG_FILE = "lifecycle_phases.yaml"
_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")

__all__ = [
    "CanonicalPhase",
    "Catalog",
    "Framework",
    "OperationalPhase",
    "Phase",
    "Source",
    "Text",
    "compare",
    "crosswalk",
    "list_frameworks",
    "load_catalog",
    "phase_table",
    "recommended_measures",
    "with_measures",
]


@dataclass(frozen=True)
class Text:
    """A short text in English and German."""

    en: str
    de: str

    def get(self, language: Language) -> str:
        """Return the text in ``language`` ("en" or "de")."""
        return self.de if _check_language(language) == "de" else self.en


@dataclass(frozen=True)
class Phase:
    """One phase of a framework, as its source describes it."""

    id: str
    name_de: str
    name_en: str
    canonical: str
    description: Text
    goals: tuple[Text, ...]
    measures: tuple[Text, ...]
    kpis: tuple[Text, ...]

    def name(self, language: Language) -> str:
        """Phase name in ``language`` (German as the source writes it)."""
        return self.name_de if _check_language(language) == "de" else self.name_en


@dataclass(frozen=True)
class Source:
    """The article a framework comes from, cited as fully as it was recorded.

    ``publisher`` and ``url`` are ``None`` where they were not recorded when the text was
    collected and could not be found since; ``accessed`` is the date (or year) of access.
    """

    title: str
    publisher: str | None
    language: str
    url: str | None
    accessed: str

    @property
    def citation(self) -> str:
        """One-line citation: title, publisher, language, URL and date accessed."""
        publisher = self.publisher or "publisher not recorded"
        url = self.url or "URL not recorded when the text was collected"
        return f'"{self.title}". {publisher}, in {self.language}. {url}. Accessed {self.accessed}.'


@dataclass(frozen=True)
class Framework:
    """A lifecycle framework from one source article, with its ordered phases."""

    id: str
    name_de: str
    name_en: str
    kind: str
    source: Source
    summary: Text
    kpi_note: str
    phases: tuple[Phase, ...]
    clv_formula: Text | None = None

    @property
    def citation(self) -> str:
        """The source's one-line citation."""
        return self.source.citation

    def name(self, language: Language) -> str:
        """Framework name in ``language``."""
        return self.name_de if _check_language(language) == "de" else self.name_en

    def phase(self, phase_id: str) -> Phase:
        """Return the phase with id ``phase_id``."""
        for phase in self.phases:
            if phase.id == phase_id:
                return phase
        known = ", ".join(p.id for p in self.phases)
        raise KeyError(f"framework {self.id!r} has no phase {phase_id!r}; phases: {known}")


@dataclass(frozen=True)
class CanonicalPhase:
    """A phase of the canonical sequence used by the crosswalk."""

    id: str
    name_de: str
    name_en: str
    stage: str
    description: Text

    def name(self, language: Language) -> str:
        """Canonical phase name in ``language``."""
        return self.name_de if _check_language(language) == "de" else self.name_en


@dataclass(frozen=True)
class OperationalPhase:
    """A phase found in purchase logs, linked to the canonical phases it corresponds to."""

    id: str
    name_de: str
    name_en: str
    canonical: tuple[str, ...]

    def name(self, language: Language) -> str:
        """Operational phase name in ``language``."""
        return self.name_de if _check_language(language) == "de" else self.name_en


@dataclass(frozen=True)
class Catalog:
    """The validated phase catalog: canonical sequence, operational phases, frameworks."""

    canonical: tuple[CanonicalPhase, ...]
    operational: tuple[OperationalPhase, ...]
    frameworks: tuple[Framework, ...]
    path: str

    def framework(self, framework_id: str) -> Framework:
        """Return the framework with id ``framework_id``."""
        if not isinstance(framework_id, str):
            raise TypeError(f"framework id must be a str, got {type(framework_id).__name__}")
        for framework in self.frameworks:
            if framework.id == framework_id:
                return framework
        known = ", ".join(f.id for f in self.frameworks)
        raise KeyError(f"no framework {framework_id!r} in the catalog; frameworks: {known}")

    @property
    def canonical_ids(self) -> tuple[str, ...]:
        """Ids of the canonical phases, in order."""
        return tuple(c.id for c in self.canonical)


# --------------------------------------------------------------------------- loading


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"language must be 'en' or 'de', got {language!r}")
    return language


class _Reader:
    """Read fields from a parsed YAML mapping; errors name the place and the field."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, field: str, problem: str) -> DataValidationError:
        return DataValidationError(
            f"lifecycle catalog {self.path}: {where}: field {field!r} {problem}; "
            "fix that entry in the catalog file"
        )

    def mapping(self, obj: Any, where: str, field: str) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise self.fail(where, field, f"must be a mapping, got {type(obj).__name__}")
        return obj

    def string(self, obj: dict[str, Any], where: str, field: str, optional: bool = False) -> str:
        value = obj.get(field)
        if value is None and optional:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, field, "is missing or not a non-empty string")
        return value.strip()

    def items(self, obj: dict[str, Any], where: str, field: str) -> list[Any]:
        value = obj.get(field)
        if not isinstance(value, list) or not value:
            raise self.fail(where, field, "is missing or not a non-empty list")
        return value

    def text(self, obj: Any, where: str, field: str) -> Text:
        mapping = self.mapping(obj, where, field)
        return Text(
            en=self.string(mapping, f"{where}, {field}", "en"),
            de=self.string(mapping, f"{where}, {field}", "de"),
        )

    def source(self, obj: dict[str, Any], where: str) -> Source:
        url = self.string(obj, where, "url", optional=True) or None
        if url is not None and not url.startswith(("https://", "http://")):
            raise self.fail(where, "url", f"must be a web address (https://...) or null: {url!r}")
        accessed = obj.get("accessed")
        if not isinstance(accessed, str) or not _DATE.fullmatch(accessed):
            expected = "must be a quoted date YYYY, YYYY-MM or YYYY-MM-DD"
            raise self.fail(where, "accessed", f"{expected}, got {accessed!r}")
        return Source(
            title=self.string(obj, where, "title"),
            publisher=self.string(obj, where, "publisher", optional=True) or None,
            language=self.string(obj, where, "language"),
            url=url,
            accessed=accessed,
        )

    def unique(self, ids: list[str], where: str, field: str) -> None:
        seen = {i for i in ids if ids.count(i) > 1}
        if seen:
            raise self.fail(where, field, f"repeats the ids {sorted(seen)}")


def _parse_catalog(raw: Any, path: str) -> Catalog:
    r = _Reader(path)
    root = r.mapping(raw, "top level", "(document)")

    canonical = []
    for i, item in enumerate(r.items(root, "top level", "canonical_phases")):
        where = f"canonical phase #{i + 1}"
        item = r.mapping(item, where, "canonical_phases")
        cid = r.string(item, where, "id")
        where = f"canonical phase {cid!r}"
        canonical.append(
            CanonicalPhase(
                id=cid,
                name_de=r.string(item, where, "name_de"),
                name_en=r.string(item, where, "name_en"),
                stage=r.string(item, where, "stage"),
                description=r.text(item.get("description"), where, "description"),
            )
        )
    canonical_ids = [c.id for c in canonical]
    r.unique(canonical_ids, "top level", "canonical_phases")

    operational = []
    for i, item in enumerate(r.items(root, "top level", "operational_phases")):
        where = f"operational phase #{i + 1}"
        item = r.mapping(item, where, "operational_phases")
        oid = r.string(item, where, "id")
        where = f"operational phase {oid!r}"
        links = r.items(item, where, "canonical")
        bad = [c for c in links if c not in canonical_ids]
        if bad:
            raise r.fail(where, "canonical", f"names unknown canonical phases {bad}")
        operational.append(
            OperationalPhase(
                id=oid,
                name_de=r.string(item, where, "name_de"),
                name_en=r.string(item, where, "name_en"),
                canonical=tuple(links),
            )
        )

    frameworks = []
    for i, item in enumerate(r.items(root, "top level", "frameworks")):
        where = f"framework #{i + 1}"
        item = r.mapping(item, where, "frameworks")
        fid = r.string(item, where, "id")
        where = f"framework {fid!r}"
        source = r.mapping(item.get("source"), where, "source")
        phases = []
        for j, ph in enumerate(r.items(item, where, "phases")):
            pwhere = f"{where}, phase #{j + 1}"
            ph = r.mapping(ph, pwhere, "phases")
            pid = r.string(ph, pwhere, "id")
            pwhere = f"{where}, phase {pid!r}"
            target = r.string(ph, pwhere, "canonical")
            if target not in canonical_ids:
                raise r.fail(pwhere, "canonical", f"names {target!r}, not one of {canonical_ids}")
            phases.append(
                Phase(
                    id=pid,
                    name_de=r.string(ph, pwhere, "name_de"),
                    name_en=r.string(ph, pwhere, "name_en"),
                    canonical=target,
                    description=r.text(ph.get("description"), pwhere, "description"),
                    goals=tuple(r.text(t, pwhere, "goals") for t in r.items(ph, pwhere, "goals")),
                    measures=tuple(
                        r.text(t, pwhere, "measures") for t in r.items(ph, pwhere, "measures")
                    ),
                    kpis=tuple(r.text(t, pwhere, "kpis") for t in r.items(ph, pwhere, "kpis")),
                )
            )
        r.unique([p.id for p in phases], where, "phases")
        formula = item.get("clv_formula")
        frameworks.append(
            Framework(
                id=fid,
                name_de=r.string(item, where, "name_de"),
                name_en=r.string(item, where, "name_en"),
                kind=r.string(item, where, "kind"),
                source=r.source(source, f"{where}, source"),
                summary=r.text(item.get("summary"), where, "summary"),
                kpi_note=r.string(item, where, "kpi_note"),
                phases=tuple(phases),
                clv_formula=None if formula is None else r.text(formula, where, "clv_formula"),
            )
        )
    r.unique([f.id for f in frameworks], "top level", "frameworks")
    return Catalog(
        canonical=tuple(canonical),
        operational=tuple(operational),
        frameworks=tuple(frameworks),
        path=path,
    )


@functools.lru_cache(maxsize=1)
def _default_catalog() -> Catalog:
    text = data_path(CATALOG_FILE).read_text(encoding="utf-8")
    return _parse_catalog(yaml.safe_load(text), CATALOG_FILE)


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate the phase catalog.

    Parameters
    ----------
    path : str or Path, optional
        A catalog file in the format of ``data/lifecycle_phases.yaml``. By default the
        catalog shipped with clvlab (read once, then cached).

    Returns
    -------
    Catalog

    Raises
    ------
    DataValidationError
        If a field is missing or malformed; the message names the framework, the phase
        and the field.
    """
    if path is None:
        return _default_catalog()
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise DataValidationError(
            f"lifecycle catalog {path}: not valid YAML ({err}); fix the file's syntax"
        ) from err
    return _parse_catalog(raw, str(path))


def _catalog(catalog: Catalog | None) -> Catalog:
    return load_catalog() if catalog is None else catalog


# --------------------------------------------------------------------------- tables


def list_frameworks(catalog: Catalog | None = None, language: Language = "en") -> pd.DataFrame:
    """List the frameworks with their kind, number of phases and source.

    Returns
    -------
    pandas.DataFrame
        Indexed by framework id, columns ``name, kind, n_phases, phases, citation, url``
        (``url`` is None where it was not recorded);
        ``phases`` joins the phase names in source order with " → ".
    """
    cat = _catalog(catalog)
    rows = [
        {
            "framework": f.id,
            "name": f.name(language),
            "kind": f.kind,
            "n_phases": len(f.phases),
            "phases": " → ".join(p.name(language) for p in f.phases),
            "citation": f.citation,
            "url": f.source.url,
        }
        for f in cat.frameworks
    ]
    return pd.DataFrame(rows).set_index("framework")


def crosswalk(catalog: Catalog | None = None, language: Language = "en") -> pd.DataFrame:
    """Every phase of every framework with its canonical phase, one row per phase.

    Returns
    -------
    pandas.DataFrame
        Columns ``framework, position`` (1-based order in the source), ``phase_id``,
        ``phase`` (name in ``language``), ``name_de`` (as the source writes it),
        ``canonical`` (id) and ``canonical_name`` (in ``language``).
    """
    cat = _catalog(catalog)
    names = {c.id: c.name(language) for c in cat.canonical}
    rows = [
        {
            "framework": f.id,
            "position": k,
            "phase_id": p.id,
            "phase": p.name(language),
            "name_de": p.name_de,
            "canonical": p.canonical,
            "canonical_name": names[p.canonical],
        }
        for f in cat.frameworks
        for k, p in enumerate(f.phases, start=1)
    ]
    return pd.DataFrame(rows)


def compare(catalog: Catalog | None = None, language: Language = "en") -> pd.DataFrame:
    """Side-by-side comparison of the frameworks along the canonical sequence.

    Parameters
    ----------
    catalog : Catalog, optional
        Defaults to the shipped catalog.
    language : {"en", "de"}
        Language of the labels and phase names.

    Returns
    -------
    pandas.DataFrame
        One row per canonical phase (index: canonical name in ``language``, in canonical
        order), one column per framework (its name in ``language``); a cell holds the
        framework's phase names mapped there, joined by " / ", or "" where the framework
        has no such phase.
    """
    cat = _catalog(catalog)
    table = {}
    for f in cat.frameworks:
        table[f.name(language)] = [
            " / ".join(p.name(language) for p in f.phases if p.canonical == c.id)
            for c in cat.canonical
        ]
    index = pd.Index([c.name(language) for c in cat.canonical], name=_label("canonical", language))
    return pd.DataFrame(table, index=index)


def phase_table(
    framework: str, *, catalog: Catalog | None = None, language: Language = "en"
) -> pd.DataFrame:
    """What each phase of one framework aims at, which measures fit and which KPIs show it.

    Returns
    -------
    pandas.DataFrame
        Indexed by phase name (in ``language``), columns ``canonical, description, goals,
        measures, kpis``; lists are joined with "; ".
    """
    cat = _catalog(catalog)
    fw = cat.framework(framework)
    rows = [
        {
            "phase": p.name(language),
            "canonical": p.canonical,
            "description": p.description.get(language),
            "goals": "; ".join(t.get(language) for t in p.goals),
            "measures": "; ".join(t.get(language) for t in p.measures),
            "kpis": "; ".join(t.get(language) for t in p.kpis),
        }
        for p in fw.phases
    ]
    return pd.DataFrame(rows).set_index("phase")


def recommended_measures(
    phase: str,
    framework: str | None = None,
    *,
    catalog: Catalog | None = None,
    language: Language = "en",
) -> pd.DataFrame:
    """The measures (Massnahmen) the sources recommend for a phase.

    Parameters
    ----------
    phase : str
        A canonical phase id (e.g. ``"growth"``) or an operational phase id from
        :func:`clvlab.phases.assign_phases` (``"new"``, ``"growing"``, ``"retained"``,
        ``"at_risk"``, ``"lapsed"``), which stands for its linked canonical phases.
    framework : str, optional
        Restrict to one framework id.
    catalog : Catalog, optional
        Defaults to the shipped catalog.
    language : {"en", "de"}

    Returns
    -------
    pandas.DataFrame
        Columns ``framework, phase, canonical, measure, citation``, one row per measure.
    """
    cat = _catalog(catalog)
    operational = {o.id: o.canonical for o in cat.operational}
    if phase in operational:
        targets = operational[phase]
    elif phase in cat.canonical_ids:
        targets = (phase,)
    else:
        known = sorted(set(operational) | set(cat.canonical_ids))
        raise KeyError(f"unknown phase {phase!r}; use one of {known}")
    frameworks = cat.frameworks if framework is None else (cat.framework(framework),)
    rows = [
        {
            "framework": f.id,
            "phase": p.name(language),
            "canonical": p.canonical,
            "measure": m.get(language),
            "citation": f.citation,
        }
        for target in targets
        for f in frameworks
        for p in f.phases
        if p.canonical == target
        for m in p.measures
    ]
    columns = ["framework", "phase", "canonical", "measure", "citation"]
    return pd.DataFrame(rows, columns=columns)


def _label(key: str, language: str) -> str:
    labels = {"canonical": {"en": "canonical phase", "de": "kanonische Phase"}}
    return labels[key][_check_language(language)]


def with_measures(table: pd.DataFrame, framework: str, language: str) -> pd.DataFrame:
    """The phase table with each phase's name and the framework's measures for it.

    Parameters
    ----------
    table : DataFrame
        From :func:`clvlab.phases.assign_phases`.
    framework : str
        A framework id of the phase catalog.
    language : {"en", "de"}

    Returns
    -------
    DataFrame
        ``customer_id``, ``phase``, ``phase_name``, ``recommended_measures`` (joined with
        "; ", empty where the framework has none for the phase, with a warning), then the
        other columns of ``table``.
    """
    catalog = load_catalog()
    names = {o.id: o.name(language) for o in catalog.operational}
    measures = {
        phase: "; ".join(
            recommended_measures(phase, framework, catalog=catalog, language=language)["measure"]
        )
        for phase in phases.PHASES
    }
    present = table["phase"].astype(str)
    missing = sorted(set(present[present.map(measures) == ""]))
    if missing:
        warnings.warn(
            f"framework {framework!r} recommends no measures for the phases {missing}; "
            "choose another framework",
            UserWarning,
            stacklevel=2,
        )
    front = pd.DataFrame(
        {
            "customer_id": table["customer_id"],
            "phase": present,
            "phase_name": present.map(names),
            "recommended_measures": present.map(measures),
        }
    )
    return pd.concat([front, table.drop(columns=["customer_id", "phase"])], axis=1)
