"""Choices the editor draws as radio buttons say, each in one sentence, what they do; a choice
added to the document's enum without its sentence fails here."""

from __future__ import annotations

from service.dashboard.editor_labels import CHOICE_HELP
from service.dashboard.experiment_form import CHOICES, TOP_FIELDS


def test_every_choice_of_a_described_field_has_its_sentence() -> None:
    assert CHOICE_HELP, "nothing described"
    for name, sentences in CHOICE_HELP.items():
        assert name in TOP_FIELDS, name
        assert set(sentences) == set(CHOICES[name]), name
        assert all(text.strip().endswith(".") for text in sentences.values()), name


def test_both_engines_are_offered() -> None:
    assert set(CHOICES["analysis.engine"]) == {"frequentist", "bayesian"}
    assert "chance each variant beats control" in CHOICE_HELP["analysis.engine"]["bayesian"]
    assert "p-values" in CHOICE_HELP["analysis.engine"]["frequentist"]
