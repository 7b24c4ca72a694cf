"""Sentence splitting for the claims check: Markdown, abbreviations, decimals, CJK, citations."""

from agent.claims.sentences import split


def texts(answer):
    return [(s.text, s.numbers) for s in split(answer)]


def test_sentences_keep_their_citations_before_or_after_the_stop():
    answer = "The tower is 330 m tall [1]. It opened in 1889.[2] It is iron. [3] Really [1, 2]."
    assert texts(answer) == [("The tower is 330 m tall [1].", (1,)), ("It opened in 1889.[2]", (2,)),
                             ("It is iron. [3]", (3,)), ("Really [1, 2].", (1, 2))]


def test_link_citations_count_as_their_number():
    assert texts("Eiffel designed it [3](https://example.com/x). Done.") == [
        ("Eiffel designed it [3](https://example.com/x).", (3,)), ("Done.", ())]


def test_abbreviations_initials_and_decimals_do_not_end_a_sentence():
    answer = ("The U.S. economy grew 3.5 % in 2023 [1]. Dr. Smith and J. K. Rowling met e.g. in London [2]. "
              "It is 3.5 m long, approx. five metres [1].")
    assert [t for t, _ in texts(answer)] == [
        "The U.S. economy grew 3.5 % in 2023 [1].", "Dr. Smith and J. K. Rowling met e.g. in London [2].",
        "It is 3.5 m long, approx. five metres [1]."]


def test_cjk_full_stops_end_sentences_without_spaces():
    assert texts("东京是日本的首都[1]。它很大[2]！真的吗？") == [
        ("东京是日本的首都[1]。", (1,)), ("它很大[2]！", (2,)), ("真的吗？", ())]


def test_code_headings_rules_and_reference_lists_are_never_claims():
    answer = ("# Heading [1]\n\n```python\nx = 1  # 5 metres [1]. Not a claim.\n```\n\n---\n\n"
              "Use `pip install x [2]` here [1].\n\nSources:\n[1] Example - https://example.com\n"
              "2. [2](https://example.org) Another\n")
    claims = split(answer)
    assert [(s.text, s.numbers) for s in claims] == [("Use `pip install x [2]` here [1].", (1,))]
    assert "pip" not in claims[0].claim and "[1]" not in claims[0].claim


def test_list_items_and_table_rows_are_their_own_sentences():
    answer = ("Facts:\n- Paris is the capital [1]\n- It has 2.1 million people [2]\n  across 20 districts.\n\n"
              "| City | Population |\n|---|---|\n| Paris | 2.1 million [2] |\n| Lyon | 0.5 million |\n")
    assert texts(answer) == [
        ("Paris is the capital [1]", (1,)), ("It has 2.1 million people [2]\n  across 20 districts.", (2,)),
        ("| Paris | 2.1 million [2] |", (2,)), ("| Lyon | 0.5 million |", ())]


def test_offsets_point_at_the_sentence_in_the_answer():
    answer = "> Quoted claim [1].\n\nSecond one [2]. Third."
    for sentence in split(answer):
        assert answer[sentence.start:sentence.end] == sentence.text


def test_empty_and_huge_answers():
    assert split("") == []
    assert split("   \n\n  ") == []
    big = "The tower is 330 m tall [1]. " * 5000
    assert len(split(big)) == 5000
