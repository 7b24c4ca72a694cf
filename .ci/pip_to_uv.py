"""Prints, as bash, where pip on this machine would install from, for uv: ``uv_args=(...)`` (its
indexes, find-links, constraints) and the certificate bundle pip uses. uv reads no pip
configuration, and CI must install from the same places pip would (a machine whose pip reaches
only a mirror, or holds torch's CPU wheel in a local folder).

pip's configuration comes from `pip config list` (its files and PIP_* variables merged): a
variable wins over a file's [install] section, which wins over its [global] one."""

from __future__ import annotations

import ast
import shlex
import subprocess
import sys

PRECEDENCE = {"global": 0, "install": 1, ":env:": 2}
# pip's list options (one value or several separated by whitespace) and uv's flag for each.
LISTS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url",
         "find-links": "--find-links", "constraint": "--constraint"}


def chosen(listed: str) -> dict[str, str]:
    """pip's settings from the output of `pip config list`, the winning value of each key."""
    picked: dict[str, tuple[int, str]] = {}
    for line in listed.splitlines():
        name, _, value = line.partition("=")
        section, _, key = name.rpartition(".")
        rank = PRECEDENCE.get(section)
        if rank is None or not value:
            continue
        if key not in picked or rank >= picked[key][0]:
            picked[key] = (rank, ast.literal_eval(value))
    return {key: value for key, (_, value) in picked.items()}


def as_bash(config: dict[str, str]) -> str:
    """``uv_args=(...)`` for those settings, and the certificate bundle's export if pip has one."""
    args: list[str] = []
    for key, flag in LISTS.items():
        for value in config.get(key, "").split():
            args += [flag, value]
    if config.get("no-index", "").lower() in {"1", "true", "yes", "on"}:
        args.append("--no-index")
    lines = [f"uv_args=({' '.join(shlex.quote(a) for a in args)})"]
    if config.get("cert"):
        lines.append(f"export SSL_CERT_FILE={shlex.quote(config['cert'])}")
    return "\n".join(lines)


def main() -> None:
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], check=True,
                            capture_output=True, text=True).stdout
    print(as_bash(chosen(listed)))


if __name__ == "__main__":
    main()
