"""The answers' generated summary keeps only what cites the passages it was given, never answers
without a passage, and never makes a request wait past its budget or queue behind a running
generation. The generators here are plain functions standing in for the model: what is under
test is the guard around any generator's output."""

from __future__ import annotations

import threading

from recommend.engine.answer_summary import Passage, Summariser, checked, prompt

PASSAGES = [
    Passage(12, "Returns > Return window", "You can return most items within 30 days."),
    Passage(31, "Refunds", "The refund is paid within five working days."),
]


def test_the_prompt_numbers_the_passages_and_asks_for_citations():
    text = prompt("  can I send it back? ", PASSAGES)
    assert "[1] Returns > Return window: You can return" in text
    assert "[2] Refunds: The refund" in text
    assert text.endswith("Question: can I send it back?\nAnswer:")


def test_a_summary_is_kept_only_with_citations_of_given_passages():
    ok = checked("Yes, within 30 days [1]; refunds take five days [2][1].\n\nMore text.", PASSAGES)
    assert ok.status == "ok" and ok.citations == [12, 31]
    assert ok.text == "Yes, within 30 days [1]; refunds take five days [2][1]."
    assert checked("Yes, within 30 days.", PASSAGES).status == "no_citation"
    assert checked("Yes [3].", PASSAGES).status == "bad_citation"
    long = checked("One [1]. Two [1]. Three [2]. Four [2].", PASSAGES)
    assert long.text == "One [1]. Two [1]. Three [2]."


def test_no_passage_means_no_summary_and_the_generator_is_not_asked():
    asked = []
    summariser = Summariser(lambda p: asked.append(p) or "Anything [1].")
    assert summariser.summarise("q", [], timeout_s=5).status == "no_passages"
    assert asked == []
    assert summariser.summarise("q", PASSAGES, timeout_s=5).status == "ok" and len(asked) == 1


def test_a_slow_generation_times_out_and_the_next_request_does_not_queue_behind_it():
    release = threading.Event()
    started = threading.Event()

    def slow(_prompt: str) -> str:
        started.set()
        release.wait(30)
        return "Late [1]."

    summariser = Summariser(slow)
    assert summariser.summarise("q", PASSAGES, timeout_s=0.05).status == "timeout"
    assert started.wait(30)
    assert summariser.summarise("q", PASSAGES, timeout_s=0.05).status == "busy"
    release.set()
    pause = threading.Event()
    for _ in range(300):  # the slow generation finishes: the summariser is free again
        outcome = summariser.summarise("q", PASSAGES, timeout_s=5)
        if outcome.status != "busy":
            break
        pause.wait(0.1)
    assert outcome.status == "ok" and outcome.citations == [12]
