"""Claims against a web source that was not read (issue 23): checked against its search snippet,
which ``done.snippets`` records, so a replayed run is checked afresh to the same verdicts and each
claim's evidence can be found again, at its offsets, in the recorded snippet."""

import json

from agent.claims import SNIPPET_NOTE, check_answer
from agent.events import Done, PassageRef, SourceRef, from_dict, to_dict

SOURCES = (SourceRef(id=1, title="Eiffel Tower", url="https://example.com/eiffel",
                     snippet="Built for the 1889 fair. The tower is 330 metres tall, the tallest in Paris."),
           SourceRef(id=2, title="Bridge", url="https://example.com/bridge", snippet="The bridge opened in 1937."),
           SourceRef(id=3, title="Read page", url="https://example.com/read", snippet="A snippet.",
                     passages=(PassageRef(text="Read text: it has 2 antennas.", start=40, end=69),)))
ANSWER = ("The tower is 300 metres tall [1]. The bridge opened in 1937 [2]. It has 2 antennas [3]. "
          "It is in Paris [1].")


def test_snippet_only_evidence_is_self_contained_and_replays_to_the_same_verdicts():
    claims = tuple(check_answer(ANSWER, SOURCES))
    done = Done(answer=ANSWER, sources=SOURCES, cited=(1, 2, 3), claims=claims)
    data = json.loads(json.dumps(to_dict(done)))
    # Source objects keep their shape; the snippets travel beside them, by id.
    assert data["sources"][0] == {"id": 1, "title": "Eiffel Tower", "url": "https://example.com/eiffel"}
    assert data["snippets"] == {str(s.id): s.snippet for s in SOURCES}
    for claim in data["claims"]:
        evidence = claim["evidence"]
        if evidence is None:
            continue
        if claim["ids"] != [3]:  # checked against the snippet: the evidence is in it, at its offsets
            assert SNIPPET_NOTE in claim["note"]
            assert data["snippets"][str(evidence["id"])][evidence["start"]:evidence["end"]] == evidence["text"]
        else:  # a read page's passage: offsets in the page, and not said to be a snippet
            assert SNIPPET_NOTE not in claim["note"]
    flagged = data["claims"][0]
    assert flagged["verdict"] == "not_supported" and flagged["evidence"]["text"].startswith("The tower is 330")
    # Replayed: the recorded run, read back, is checked afresh to exactly the recorded claims.
    replayed = from_dict(data)
    assert isinstance(replayed, Done) and replayed.sources == SOURCES
    assert tuple(check_answer(replayed.answer, replayed.sources, numbers=replayed.display_numbers)) == claims
