"""Numbers, units and dates in equivalent spellings."""

import pytest

from agent.claims.normalise import fold
from agent.claims.numbers import read


def found(claim, passage):
    mine, theirs = read(fold(claim), claim=True), read(fold(passage))
    return (all(any(q.found_in(o) for o in theirs.quantities) for q in mine.quantities)
            and all(any(d.found_in(o) for o in theirs.dates) for d in mine.dates))


@pytest.mark.parametrize("claim, passage", [
    ("1,200 people", "1200 people"), ("1200 people", "1.2 thousand people"), ("5 %", "5%"),
    ("5%", "5 percent"), ("1.2 million", "1,234,567"), ("3.5 m", "3.5 metres"), ("$3 billion", "3 billion dollars"),
    ("31 March 1889", "March 31, 1889"), ("March 31, 1889", "1889-03-31"), ("March 1889", "31 March 1889"),
    ("in 1889", "on 31 March 1889"), ("3 people", "three people"), ("120万人", "1.2 million people"),
    ("1889年3月31日", "31 March 1889"), ("3,5 Millionen", "3.5 million"), ("€5m", "5 million euros"),
    ("04/03/2020", "4 March 2020"), ("COVID-19 rose 5 %", "COVID-19 rose by 5 per cent"),
])
def test_equivalent_forms_are_found(claim, passage):
    assert found(claim, passage)


@pytest.mark.parametrize("claim, passage", [
    ("1,300 people", "1,200 people"), ("1,200 people", "1,234 people"), ("330 km", "330 m"),
    ("6 %", "5 %"), ("31 March 1889", "March 1889"), ("30 March 1889", "31 March 1889"),
    ("April 1889", "31 March 1889"), ("1.3 million", "1,234,567"), ("30 years", "30 months"),
    ("in 1899", "in 1889"),
])
def test_changed_numbers_units_and_dates_are_not_found(claim, passage):
    assert not found(claim, passage)


def test_numbers_in_words_are_no_figures_in_a_claim():
    # "one of the largest", "two prizes" (a count of what the page lists): not checked as figures.
    assert read(fold("one of the largest cities won two prizes"), claim=True).quantities == ()


def test_names_with_digits_are_compared_as_written():
    assert read(fold("GPT-4 beat Qwen2.5 on H100 GPUs")).identifiers == ("gpt-4", "qwen2.5", "h100")
