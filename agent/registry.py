"""The registries of backends and search providers: a name, how to build it, what it needs.

Everything that lists or checks these names reads them here: settings validation
(``config``), the CLI's choices and help (``flags``), the UI's dropdown and the words
it shows (through ``agent.api``), the eval, and the start-up check. Adding a provider
is one ``register_provider`` call (a test registers a fake one and sees it in all of
those).

A built-in factory is named as ``"module:function"`` and imported only when it is
built, so listing the names never loads a network client or torch, and this module,
which the settings read, depends on nothing above it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from .errors import UsageError

# A factory, or where one lives ("agent.search.tavily:providers"), imported when first built.
Factory = Callable[..., Any] | str


@dataclass(frozen=True, kw_only=True)
class BackendSpec:
    name: str
    description: str  # one line for --help
    factory: Factory  # factory(settings=...) -> Backend
    needs_gpu: bool = False  # runs the model on this machine: one question at a time (concurrency_local)
    needs_key: str | None = None  # the environment variable of a key it needs
    needs_server: bool = False  # talks to a model server: checked at start-up, many questions at once
    settings: tuple[str, ...] = ()  # the Settings fields it reads beyond the common ones


@dataclass(frozen=True, kw_only=True)
class ProviderSpec:
    name: str
    label: str  # as people read it in the chat, errors and the settings panel: "DuckDuckGo"
    choice: str  # its entry in the UI's dropdown
    description: str  # one line for --help
    factory: Factory  # factory(settings=..., indexes=...) -> list[SearchProvider], in failover order
    needs_key: str | None = None
    needs_server: bool = False
    offline: bool = False  # answers without the internet (bundled results, the document index)
    searches_documents: bool = False  # web_search searches documents: no second documents tool
    offered_if: str | None = None  # the Settings field that must be set for the dropdown to offer it
    # When set, ``offered_if`` is required: the settings refuse the provider without it, with this message.
    required: str | None = None
    settings: tuple[str, ...] = ()
    # Searches what only a browser session holds (its uploads): the app offers it, the CLI and the
    # eval refuse it (they have no uploads; --provider local --index DIR is theirs).
    app_only: bool = False

    def offered(self, settings: Any) -> bool:
        return self.offered_if is None or bool(getattr(settings, self.offered_if, None))


BACKENDS: dict[str, BackendSpec] = {}
PROVIDERS: dict[str, ProviderSpec] = {}


def register_backend(spec: BackendSpec) -> BackendSpec:
    if spec.name in BACKENDS:
        raise UsageError(f"a backend named {spec.name!r} is already registered; pick another name")
    BACKENDS[spec.name] = spec
    return spec


def register_provider(spec: ProviderSpec) -> ProviderSpec:
    if spec.name in PROVIDERS:
        raise UsageError(f"a search provider named {spec.name!r} is already registered; pick another name")
    PROVIDERS[spec.name] = spec
    return spec


def backend_spec(name: str) -> BackendSpec:
    try:
        return BACKENDS[name]
    except KeyError:
        raise UsageError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}") from None


def provider_spec(name: str) -> ProviderSpec:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise UsageError(f"unknown search provider {name!r}; choose one of {', '.join(PROVIDERS)}") from None


def refuse_app_only(provider: str, *, where: str) -> None:
    """A provider that searches a browser session's uploads has nothing to search in ``where``."""
    spec = PROVIDERS.get(provider)
    if spec is not None and spec.app_only:
        raise UsageError(f"provider {provider!r} searches the documents uploaded in the browser (python app.py); "
                         f"{where} has none: search only your own documents with --provider local --index DIR "
                         "(build the index with python -m agent.index add FILES --index DIR)")


def provider_label(name: str) -> str:
    """How people read a provider's name; an unknown name as it is."""
    spec = PROVIDERS.get(name.lower())
    return spec.label if spec is not None else name


def load(factory: Factory) -> Callable[..., Any]:
    """The factory itself, importing ``"module:function"`` on first use."""
    if callable(factory):
        return factory
    module, _, attr = factory.partition(":")
    target: Any = importlib.import_module(module)
    for part in attr.split("."):
        target = getattr(target, part)
    return target


def help_text(specs: dict[str, BackendSpec] | dict[str, ProviderSpec]) -> str:
    """``name: description`` for each, for --help."""
    return "; ".join(f"{spec.name}: {spec.description}" for spec in specs.values())


for _backend in (
    BackendSpec(name="transformers", description="QwQ on this machine's GPU (transformers)",
                factory="agent.backends.local.transformers:TransformersBackend", needs_gpu=True,
                settings=("model", "load_in_4bit", "kv_cache")),
    BackendSpec(name="openai", description="an OpenAI-compatible server (vLLM, SGLang, TGI) at --base-url",
                factory="agent.backends.openai.backend:OpenAIBackend", needs_key="OPENAI_API_KEY",
                needs_server=True, settings=("base_url", "openai_api_key", "openai_timeout_s")),
    BackendSpec(name="scripted", description="replays a model script (--model-script): tests and demos",
                factory="agent.backends.scripted:ScriptedBackend.from_settings",
                settings=("model_script", "script_delay_s")),
):
    register_backend(_backend)

for _provider in (
    ProviderSpec(name="auto", label="Auto", choice="Auto (Tavily with a key, else DuckDuckGo)",
                 description="Tavily when TAVILY_API_KEY is set, then DuckDuckGo as failover",
                 factory="agent.search.auto:providers"),
    ProviderSpec(name="tavily", label="Tavily", choice="Tavily", description="Tavily's search API",
                 factory="agent.search.tavily:providers", needs_key="TAVILY_API_KEY",
                 settings=("tavily_api_key",)),
    ProviderSpec(name="duckduckgo", label="DuckDuckGo", choice="DuckDuckGo", description="DuckDuckGo, no key",
                 factory="agent.search.duckduckgo:providers", settings=("ddg_min_interval_s",)),
    ProviderSpec(name="fixture", label="bundled results", choice="Bundled results (offline)",
                 description="a JSON file of canned results (--search-fixture): tests and demos",
                 factory="agent.search.fixture:providers", offline=True, offered_if="search_fixture",
                 settings=("search_fixture",)),
    ProviderSpec(name="local", label="your documents", choice="Documents only (the shared index)",
                 description="the document index at --index (python -m agent.index)",
                 factory="agent.search.local:providers", offline=True, searches_documents=True,
                 offered_if="index_dir", settings=("index_dir",),
                 required="provider 'local' needs a document index: --index DIR or DEEPSEARCH_INDEX "
                          "(build one with `python -m agent.index add FILES --index DIR`)"),
    ProviderSpec(name="uploads", label="your uploaded documents", choice="Only my uploaded documents",
                 description="only the documents uploaded in the app's Documents panel (python app.py), "
                             "not the web nor the shared index",
                 factory="agent.search.local:upload_providers", offline=True, searches_documents=True, app_only=True),
    ProviderSpec(name="retriever", label="retrieval server", choice="Retrieval server (Search-R1 /retrieve)",
                 description="a Search-R1 POST /retrieve server at --retriever-url",
                 factory="agent.search.retriever:providers", needs_server=True, searches_documents=True,
                 offered_if="retriever_url", settings=("retriever_url",),
                 required="provider 'retriever' needs a /retrieve server: --retriever-url URL or "
                          "DEEPSEARCH_RETRIEVER_URL"),
):
    register_provider(_provider)
