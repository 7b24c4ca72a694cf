"""Small real files for the document-index tests: PDFs built byte by byte, a corpus, HTML."""

from __future__ import annotations

import io
import json
from pathlib import Path


def make_pdf(pages: list[str], *, title: str | None = None) -> bytes:
    """A valid PDF with one line of Helvetica text per page (pypdf reads it back)."""
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 10 Tf 20 700 Td ({escaped}) Tj ET".encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    info = None
    if title is not None:
        objects.append(f"<< /Title ({title}) >>".encode("latin-1"))
        info = len(objects)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R" + (f" /Info {info} 0 R" if info else "") + " >>"
    out.write(f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def encrypt_pdf(data: bytes, password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_corpus(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A Search-R1 corpus: rows of (id, title, text) as ``{"id", "contents": "\\"Title\\"\\ntext"}``."""
    path.write_text("".join(json.dumps({"id": i, "contents": f'"{t}"\n{x}'}) + "\n" for i, t, x in rows),
                    encoding="utf-8")
    return path


def words(n: int, *, seed: str = "word") -> str:
    """``n`` distinct filler words, sentences of ten."""
    out = []
    for i in range(n):
        out.append(f"{seed}{i}" + ("." if i % 10 == 9 else ""))
    return " ".join(out)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a thread, for the length of a ``with``."""

    def __init__(self, app, **config) -> None:
        """``config``: more uvicorn.Config arguments (the protocol class ``serve`` uses, say)."""
        import uvicorn

        import socket

        # Bound here and handed to uvicorn, so no other process can take the port in between.
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                     log_level="warning", **config))

    def __enter__(self) -> "LocalServer":
        import threading

        from tests.waiting import wait_until

        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        wait_until(lambda: self._server.started or not self._thread.is_alive(),
                   f"the test server on {self.url} starting")
        if not self._server.started:
            raise RuntimeError(f"the test server on {self.url} stopped before it started (see its log above)")
        return self

    def __exit__(self, *_exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
