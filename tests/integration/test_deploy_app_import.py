"""Deployment: the ZeroGPU decorator, the Space front matter, the requirements pins. (integration part of test_deploy.py)"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.unit.test_deploy import REPO


def test_importing_app_with_the_zerogpu_decorator_works_on_cpu() -> None:
    """In a fresh interpreter: importing ``app`` starts nothing, loads no model,
    imports ``spaces`` and leaves CUDA untouched (ZeroGPU requires both)."""
    code = (
        "import sys\n"
        "import app\n"
        "assert hasattr(app, 'demo'), 'app.py must expose a module-level demo'\n"
        "assert 'spaces' in sys.modules, 'app.py must import spaces (or agent.gpu) first'\n"
        "torch = sys.modules.get('torch')\n"
        "assert torch is None or not torch.cuda.is_initialized(), 'CUDA touched at import'\n"
        # ui/gradio_stubs.py: Gradio's import did not rewrite its shipped type stubs
        "stubs = sys.modules['gradio.component_meta'].create_or_modify_pyi\n"
        "assert stubs.__module__ == 'ui.gradio_stubs', stubs.__module__\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "SPACES_", "OPENAI_"))}
    env |= {"PYTHON_DOTENV_DISABLED": "1", "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=240)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]

