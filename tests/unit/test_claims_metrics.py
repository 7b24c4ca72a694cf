"""ALCE-style citation metrics against values computed by hand on a small fixture."""

from agent.claims.metrics import citation_metrics

SOURCES = [
    {"id": 1, "title": "Tower", "url": "", "kind": "document", "text": "The Eiffel Tower is 330 metres tall."},
    {"id": 2, "title": "Opening", "url": "", "kind": "document", "text": "The Eiffel Tower opened in 1889."},
    {"id": 3, "title": "Paris", "url": "", "kind": "document", "text": "Paris has 2.1 million inhabitants."},
]


def test_metrics_match_hand_computed_values():
    answer = ("The Eiffel Tower is 330 m tall [1]. "              # supported; [1] relevant
              "The Eiffel Tower opened in 1889 [1, 2]. "          # supported by [2] alone: [1] irrelevant, [2] relevant
              "The Eiffel Tower is 330 m tall and opened in 1889 [1][2]. "  # needs both: both relevant
              "The Eiffel Tower opened in 1925 [2]. "             # not supported: [2] not relevant
              "It is lovely.")                                   # uncited
    # cited sentences 4, supported 3 -> recall 3/4; citations 6, relevant 1+1+2+0 = 4 -> precision 4/6;
    # supported 3 of 5 sentences -> 0.6; one uncited sentence.
    assert citation_metrics(answer, SOURCES) == {"citation_recall": 0.75, "citation_precision": 0.666667,
                                                 "supported_claim_rate": 0.6, "uncited_sentences": 1}


def test_an_answer_without_citations_or_sentences():
    assert citation_metrics("It is lovely. Truly.", SOURCES) == {
        "citation_recall": None, "citation_precision": None, "supported_claim_rate": 0.0, "uncited_sentences": 2}
    assert citation_metrics("", SOURCES) == {
        "citation_recall": None, "citation_precision": None, "supported_claim_rate": None, "uncited_sentences": 0}


def test_a_citation_to_no_source_fails_the_sentence_and_is_never_relevant():
    # the sentence fails (it cites no source 9): recall 0; [1] alone supports it: 1 relevant of 2.
    metrics = citation_metrics("The Eiffel Tower is 330 m tall [1, 9].", SOURCES)
    assert (metrics["citation_recall"], metrics["citation_precision"]) == (0.0, 0.5)
