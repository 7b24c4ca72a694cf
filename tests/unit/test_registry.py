"""A provider or backend registered once (agent/registry.py) is seen everywhere that lists or
checks names: settings, the CLI's choices and help, building, the UI's dropdown and words."""

from __future__ import annotations

import argparse

import pytest

from agent.api import PROVIDERS, BackendSpec, ProviderSpec, Settings, register_backend, register_provider
from agent.config import SettingsError
from agent.flags import engine_flags, settings_from_args
from agent.registry import BACKENDS
from agent.search import build_search
from agent.session import build_backend
from tests.engine_helpers import FakeProvider, result

PIGEON = ProviderSpec(name="pigeon", label="Carrier pigeon", choice="Carrier pigeon (slow)",
                      description="birds carry the query",
                      factory=lambda *, settings, indexes: [FakeProvider({"q": [result(1)]}, name="pigeon")])


@pytest.fixture
def pigeon():
    register_provider(PIGEON)
    yield PIGEON
    PROVIDERS.pop("pigeon")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    engine_flags(parser)
    return parser


def test_settings_accept_a_registered_provider_and_name_it_when_refusing_another(pigeon):
    assert Settings(provider="pigeon").provider == "pigeon"
    with pytest.raises(SettingsError, match="'pigeon'.*got 'owl'"):
        Settings(provider="owl")


def test_the_cli_offers_and_explains_a_registered_provider(pigeon):
    parser = _parser()
    assert settings_from_args(parser.parse_args(["--provider", "pigeon"])).provider == "pigeon"
    assert "pigeon: birds carry the query" in " ".join(parser.format_help().split())


def test_a_registered_provider_is_built_and_searched(pigeon):
    chain = build_search(Settings(provider="pigeon"))
    assert [p.name for p in chain.providers] == ["pigeon"]
    assert [r.title for r in chain.search("q", max_results=5).results] == ["Title 1"]


def test_the_ui_offers_a_registered_provider_and_reads_its_name(pigeon):
    from ui.app_ui import _providers
    from ui.mapper import _provider_words, provider_name

    assert ("Carrier pigeon (slow)", "pigeon") in _providers(Settings())
    assert provider_name("pigeon") == "Carrier pigeon"
    assert _provider_words("pigeon: lost over the sea") == "Carrier pigeon: lost over the sea"


def test_the_dropdown_offers_the_built_ins_it_did_before():
    from ui.app_ui import _providers

    assert _providers(Settings()) == [("Auto (Tavily with a key, else DuckDuckGo)", "auto"), ("Tavily", "tavily"),
                                      ("DuckDuckGo", "duckduckgo"), ("Only my uploaded documents", "uploads")]
    offered = _providers(Settings(search_fixture="f.json", index_dir="idx", retriever_url="http://127.0.0.1:1/r"))
    assert [name for _, name in offered] == ["auto", "tavily", "duckduckgo", "fixture", "local", "uploads",
                                             "retriever"]
    # Demo mode's recorded answers search no uploads: the choice is not offered there (issue 25.5).
    assert "uploads" not in [name for _, name in _providers(Settings(), demo=True)]


@pytest.mark.parametrize("text,words", [
    ("local: the index is locked", "your documents: the index is locked"),
    ("retriever: HTTP 503", "retrieval server: HTTP 503"),
    ("fixture: down; duckduckgo: 429", "bundled results: down; DuckDuckGo: 429"),
    ("scripted: no result", "bundled results: no result"),
])
def test_every_built_in_provider_is_named_in_words_in_errors(text, words):
    from ui.mapper import _provider_words

    assert _provider_words(text) == words


def test_a_registered_backend_is_accepted_offered_and_built():
    built = []
    spec = BackendSpec(name="abacus", description="counts beads",
                       factory=lambda *, settings: built.append(settings) or "the abacus")
    register_backend(spec)
    try:
        settings = settings_from_args(_parser().parse_args(["--backend", "abacus"]))
        assert build_backend(settings) == "the abacus" and built == [settings]
        assert "abacus: counts beads" in " ".join(_parser().format_help().split())
        assert settings.concurrency_limit == settings.concurrency_local  # no server: one at a time
    finally:
        BACKENDS.pop("abacus")


def test_a_name_is_registered_once():
    with pytest.raises(Exception, match="already registered"):
        register_provider(PROVIDERS["tavily"])


def test_a_provider_that_needs_a_setting_is_refused_without_it_and_offered_with_it():
    """What a provider needs is in its spec: the settings refuse it with the spec's own words, the
    dropdown offers it once the setting is there (no other module names the provider)."""
    from ui.app_ui import _providers

    spec = ProviderSpec(name="owl", label="Owl post", choice="Owl post", description="needs an owlery",
                        factory=PIGEON.factory, offered_if="index_dir", required="provider 'owl' needs an owlery")
    register_provider(spec)
    try:
        with pytest.raises(SettingsError, match="provider 'owl' needs an owlery"):
            Settings(provider="owl")
        assert Settings(provider="owl", index_dir="owlery").provider == "owl"
        assert ("Owl post", "owl") not in _providers(Settings())
        assert ("Owl post", "owl") in _providers(Settings(index_dir="owlery"))
    finally:
        PROVIDERS.pop("owl")


def test_each_built_in_provider_lives_in_its_own_module():
    """A built-in provider is its module (the provider and its factory) and its spec here: the
    factory the registry names is that module's, so adding one edits no shared search module."""
    from agent.registry import load

    for spec in PROVIDERS.values():
        assert isinstance(spec.factory, str) and spec.factory.startswith("agent.search."), spec.name
        assert not spec.factory.startswith("agent.search:"), spec.name
        assert callable(load(spec.factory))
