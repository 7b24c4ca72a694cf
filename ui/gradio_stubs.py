"""Importing Gradio without rewriting its type stubs.

Gradio's component metaclass re-derives each component's ``.pyi`` stub from its source every time
``gradio`` is imported (``gradio.component_meta.create_or_modify_pyi``: read, parse and rewrite
~80 files in site-packages). The wheel already ships those stubs, so the work changes nothing for
the app, yet it was about 40 % of ``import gradio`` (1.1-1.3 s of CPU of ~2.8 s measured on a
2-core machine): every ``python app.py`` start, every Space import and every test process paid it.
No Gradio setting turns it off, so the function is replaced by a no-op as the module loads.
If a Gradio release renames it, the replacement is an unused attribute and Gradio works as before.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

MODULE = "gradio.component_meta"


def _no_stub_rewrite(*_args: object, **_kwargs: object) -> None:
    return None


class _SkipStubRewrite(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` as usual and swaps the stub writer out once it has run."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != MODULE:
            return None
        sys.meta_path.remove(self)  # once: a reload finds the module the ordinary way
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = spec.loader if spec is not None else None
        if spec is None or not isinstance(loader, importlib.machinery.SourceFileLoader):
            return spec  # not the plain source file Gradio installs: leave it alone
        load = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            module.create_or_modify_pyi = _no_stub_rewrite  # type: ignore[attr-defined]

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_stub_rewrite() -> None:
    """Install the finder, unless Gradio is already imported (then it is too late, and harmless)."""
    if MODULE in sys.modules or any(isinstance(f, _SkipStubRewrite) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _SkipStubRewrite())
