"""Tests for clvlab.lifecycle: the phase catalog, crosswalk and comparison tables."""

from __future__ import annotations

import pytest
import yaml

from clvlab import lifecycle
from clvlab.datasets import data_path
from clvlab.errors import DataValidationError


@pytest.fixture(scope="module")
def catalog() -> lifecycle.Catalog:
    return lifecycle.load_catalog()


@pytest.fixture
def raw_catalog() -> dict:
    text = data_path(lifecycle.CATALOG_FILE).read_text("utf-8")
    return yaml.safe_load(text)


def test_catalog_holds_five_frameworks_each_cited_fully(catalog):
    assert len(catalog.frameworks) == 5
    for framework in catalog.frameworks:
        source = framework.source
        assert source.title and source.language == "de" and source.accessed == "2026"
        assert source.url is None or source.url.startswith("https://")
        assert source.title in framework.citation and "Accessed 2026" in framework.citation
        # the citation names the article, not a file of the developers' collection
        assert ".txt" not in framework.citation
    soriax = catalog.framework("soriax_lifecycle").source
    assert soriax.publisher.startswith("SORIAX")
    assert soriax.url == "https://www.soriax.com/wissen/customer-lifecycle"
    # no URL was recorded for one article, and none is invented: the citation says so
    strategies = catalog.framework("clv_strategies")
    assert strategies.source.url is None and strategies.source.publisher is None
    assert "URL not recorded when the text was collected" in strategies.citation
    table = lifecycle.list_frameworks(catalog)
    assert table.loc["clv_phases", "url"].startswith("https://easy-feedback.de/")


def test_every_phase_maps_to_a_canonical_phase_and_has_both_languages(catalog):
    canonical = set(catalog.canonical_ids)
    n_phases = 0
    for framework in catalog.frameworks:
        for phase in framework.phases:
            n_phases += 1
            assert phase.canonical in canonical, (framework.id, phase.id)
            assert phase.name_de and phase.name_en
            texts = [phase.description, *phase.goals, *phase.measures, *phase.kpis]
            assert all(t.en and t.de and t.en != t.de for t in texts), (framework.id, phase.id)
    assert n_phases == 5 + 6 + 6 + 7 + 5


def test_source_phase_names_in_source_order(catalog):
    names = [p.name_de for p in catalog.framework("clv_phases").phases]
    assert names == [
        "Akquisitionsphase",
        "Onboarding-Phase",
        "Wachstumsphase",
        "Bindungsphase",
        "Rückgewinnungsphase",
    ]
    crm = [p.canonical for p in catalog.framework("crm_lifecycle").phases]
    assert crm == [
        "awareness",
        "consideration",
        "first_purchase",
        "retention",
        "growth",
        "win_back",
    ]
    clm = [p.name_en for p in catalog.framework("clm_reach_to_loyalty").phases]
    assert clm == ["Reach", "Acquisition (interest)", "Conversion", "Retention", "Loyalty"]


def test_operational_phases_link_to_canonical(catalog):
    assert [o.id for o in catalog.operational] == [
        "new",
        "growing",
        "retained",
        "at_risk",
        "lapsed",
    ]
    assert catalog.operational[-1].canonical == ("win_back",)


def test_compare_side_by_side_in_both_languages(catalog):
    en = lifecycle.compare(catalog)
    de = lifecycle.compare(catalog, language="de")
    assert en.shape == de.shape == (10, 5)
    assert de.index[0] == "Aufmerksamkeit"
    assert de.index.name == "kanonische Phase"
    assert de.loc["Abgewandert / Rückgewinnung", "CLV-Phasen"] == "Rückgewinnungsphase"
    assert en.loc["Growth", "Customer lifecycle in CRM and sales"] == "Expansion"
    # the CLV-strategies article maps two strategies onto retention
    strategies = en["Strategies to maximise customer lifetime value"]
    assert strategies["Retention"] == (
        "Exceptional customer experience / Nurture customer relationships"
    )
    # no source has an at-risk phase of its own
    assert (en.loc["At risk"] == "").all()


def test_crosswalk_and_list(catalog):
    walk = lifecycle.crosswalk(catalog, language="de")
    assert len(walk) == 29
    assert walk["canonical"].isin(catalog.canonical_ids).all()
    frameworks = lifecycle.list_frameworks(catalog)
    assert frameworks["n_phases"].tolist() == [5, 6, 6, 7, 5]
    assert frameworks.loc["clv_strategies", "kind"] == "strategies"


def test_recommended_measures_for_operational_and_canonical(catalog):
    at_risk = lifecycle.recommended_measures("at_risk", catalog=catalog)
    assert set(at_risk["canonical"]) == {"win_back"}
    assert len(at_risk) == 5
    growth_de = lifecycle.recommended_measures("growth", catalog=catalog, language="de")
    assert "Treueprogramme oder exklusive Angebote." in growth_de["measure"].tolist()
    one = lifecycle.recommended_measures("lapsed", framework="clv_phases", catalog=catalog)
    assert one["phase"].tolist() == ["Win-back phase", "Win-back phase"]
    with pytest.raises(KeyError, match="unknown phase"):
        lifecycle.recommended_measures("sleeping", catalog=catalog)


def test_phase_table_and_formula(catalog):
    table = lifecycle.phase_table("soriax_lifecycle", catalog=catalog, language="de")
    assert table.index[0] == "Bewusstseinsphase"
    assert list(table.columns) == ["canonical", "description", "goals", "measures", "kpis"]
    formula = catalog.framework("clv_strategies").clv_formula
    assert "×" in formula.en and "Kundenlebensdauer" in formula.de


def test_bad_language_is_rejected(catalog):
    with pytest.raises(ValueError, match="language"):
        lifecycle.compare(catalog, language="fr")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["frameworks"][1]["phases"][2].pop("name_de"), r"'crm_lifecycle'.*'name_de'"),
        (
            lambda c: c["frameworks"][0]["phases"][0].update(canonical="purchase"),
            r"'clv_phases', phase 'acquisition'.*'canonical'",
        ),
        (
            lambda c: c["frameworks"][3]["phases"][0]["measures"][0].pop("de"),
            r"'soriax_lifecycle', phase 'awareness', measures.*'de'",
        ),
        (lambda c: c["frameworks"][4].pop("phases"), r"'clm_reach_to_loyalty'.*'phases'"),
        (lambda c: c["frameworks"][2]["source"].pop("title"), r"'clv_strategies', source.*'title'"),
        (
            lambda c: c["frameworks"][0]["source"].update(url="000_29a6b10be6126804.txt"),
            r"'clv_phases', source.*'url' must be a web address",
        ),
        (
            lambda c: c["frameworks"][3]["source"].update(accessed=2026),
            r"'soriax_lifecycle', source.*'accessed' must be a quoted date",
        ),
    ],
)
def test_malformed_catalog_names_framework_and_field(tmp_path, raw_catalog, edit, message):
    edit(raw_catalog)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw_catalog, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataValidationError, match=message):
        lifecycle.load_catalog(path)


def test_invalid_yaml_syntax(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("frameworks: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="not valid YAML"):
        lifecycle.load_catalog(path)
