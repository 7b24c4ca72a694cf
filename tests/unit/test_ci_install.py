"""CI installs with uv from where pip would (``.ci/pip_to_uv.py``): a machine whose pip reaches
only a mirror, or finds torch's CPU wheel in a local folder, must give uv the same places, with
pip's precedence (a PIP_* variable over a file's [install] section over its [global] one)."""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "pip_to_uv.py"
spec = importlib.util.spec_from_file_location("pip_to_uv", SCRIPT)
assert spec and spec.loader
pip_to_uv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pip_to_uv)

LISTED = """\
:env:.cert='/etc/ssl/certs/ca-certificates.crt'
:env:.default-timeout='180'
:env:.find-links='/opt/wheels'
global.constraint='/etc/xdg/pip/constraints.txt'
global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'
global.find-links='/somewhere/else'
global.index-url='https://pypi.example/simple'
install.index-url='https://mirror.example/simple'
user.unknown-section='ignored'
"""


def uv_args(bash: str) -> list[str]:
    first = bash.splitlines()[0]
    assert first.startswith("uv_args=(") and first.endswith(")"), first
    return shlex.split(first[len("uv_args=("):-1])


def test_the_places_pip_installs_from_become_uvs_with_pips_precedence() -> None:
    bash = pip_to_uv.as_bash(pip_to_uv.chosen(LISTED))
    args = uv_args(bash)
    pairs = list(zip(args[::2], args[1::2]))
    assert ("--index-url", "https://mirror.example/simple") in pairs  # [install] over [global]
    assert ("--find-links", "/opt/wheels") in pairs and "/somewhere/else" not in args  # PIP_* over files
    assert [v for f, v in pairs if f == "--extra-index-url"] == ["file:///opt/pypi/simple", "file:///opt/pypi-more/simple"]
    assert ("--constraint", "/etc/xdg/pip/constraints.txt") in pairs
    assert "180" not in args and "ignored" not in args  # settings uv has no flag for here stay out
    assert "export SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in bash.splitlines()


def test_lists_split_as_pip_splits_them_and_a_certificate_path_stays_one_word() -> None:
    listed = "global.find-links='/opt/a /opt/b'\nglobal.no-index='true'\nglobal.cert='/etc/my certs/ca.pem'\n"
    bash = pip_to_uv.as_bash(pip_to_uv.chosen(listed))
    assert uv_args(bash) == ["--find-links", "/opt/a", "--find-links", "/opt/b", "--no-index"]
    assert shlex.split(bash.splitlines()[1]) == ["export", "SSL_CERT_FILE=/etc/my certs/ca.pem"]


def test_no_pip_configuration_gives_uv_no_flags() -> None:
    assert pip_to_uv.as_bash(pip_to_uv.chosen("")) == "uv_args=()"
