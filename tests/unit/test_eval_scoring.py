"""The metrics of ``python -m agent.eval``, checked against the official scripts' definitions."""

import pytest

from agent.eval.prediction import answer_instruction, extract_prediction
from agent.eval.scoring import f1_score, normalize_answer, score


def test_normalisation_is_hotpotqa_and_search_r1s():
    assert normalize_answer("  The  Eiffel-Tower, in PARIS!  ") == "eiffeltower in paris"
    assert normalize_answer("A cat and an owl") == "cat and owl"
    assert normalize_answer("theatre") == "theatre"  # articles only as whole words


def test_f1_counts_shared_tokens():
    assert f1_score("about 330 metres tall", "330 metres") == pytest.approx(2 / 3)
    assert f1_score("Paris", "London") == 0.0


@pytest.mark.parametrize("prediction,golden", [("no it is not", "no"), ("yes", "no"),
                                               ("noanswer", "Paris"), ("yes", "yes sir")])
def test_f1_is_zero_when_yes_no_or_noanswer_differ(prediction, golden):
    assert f1_score(prediction, golden) == 0.0


def test_scores_are_maxed_over_golden_answers_and_ignore_citations():
    s = score("Shakespeare [2]", ["William Shakespeare", "Shakespeare"])
    assert (s.em, s.f1, s.subem) == (1.0, 1.0, 1.0)
    s = score("It was written by William Shakespeare [1, 3].", ["Shakespeare", "Marlowe"])
    assert s.em == 0.0 and s.subem == 1.0 and s.f1 == pytest.approx(2 / 7)


def test_score_refuses_an_empty_golden_list():
    with pytest.raises(ValueError, match="at least one golden answer"):
        score("Paris", [])


@pytest.mark.parametrize("answer,expected", [
    ("Paris is the capital [1].\n\nFinal answer: Paris", "Paris"),
    ("Long text.\n\n**Final answer:** 330 metres", "330 metres"),
    ("Long text.\n\n**Final answer: 1889**", "1889"),
    ("Final answer: early guess\nmore text\nfinal answer: Rome", "Rome"),
    ("So the result is \\boxed{\\frac{1}{2}}.\n\nFinal answer: \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("leftover thinking</think>\n\nFinal answer: Oslo", "Oslo"),
    ("Just prose with no marker [1].", "Just prose with no marker [1]."),
])
def test_qwq_prediction_is_the_final_answer_line_the_system_prompt_asks_for(answer, expected):
    assert extract_prediction(answer, dialect="qwq") == expected


@pytest.mark.parametrize("dialect,answer,expected", [
    ("search-r1", "330 metres", "330 metres"),  # the run's answer: <answer>'s content already
    ("search-r1", "<think>x</think><answer> Beijing </answer>", "Beijing"),  # raw output
    ("research", "Rome", "Rome"),
    ("research", "<answer>The final answer is \\[ \\boxed{\\frac{1}{2}} \\]</answer>", "\\frac{1}{2}"),
])
def test_search_r1_and_research_predictions_are_their_answer_tags_content(dialect, answer, expected):
    assert extract_prediction(answer, dialect=dialect) == expected


def test_only_qwq_gets_the_answer_format_instruction():
    assert "Final answer:" in answer_instruction("qwq")
    assert answer_instruction("search-r1") is None and answer_instruction("research") is None
