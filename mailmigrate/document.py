"""A file's text, decoded exactly so that encoding it again gives back the same bytes.

Offsets everywhere else are character offsets into `Document.text`. The BOM is kept aside and
line endings are left untouched (no universal-newline translation), so CRLF survives.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from mailmigrate.model import Edit


class DocumentError(Exception):
    """A file that cannot be read or decoded. `code` is the finding code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Document:
    text: str
    bom: bool
    digest: str  # of the bytes read: a file that changed before writing is not overwritten
    encoding: str = "utf-8"  # "latin-1" for files that are not UTF-8: every byte round-trips

    @property
    def newline(self) -> str:
        index = self.text.find("\n")
        return "\r\n" if index > 0 and self.text[index - 1] == "\r" else "\n"

    def encode(self, text: str | None = None) -> bytes:
        body = (self.text if text is None else text).encode(self.encoding)
        return codecs.BOM_UTF8 + body if self.bom else body

    @functools.cached_property
    def _newlines(self) -> list[int]:
        return [i for i, ch in enumerate(self.text) if ch == "\n"] if "\n" in self.text else []

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset (a bisection: files with thousands of
        settings were quadratic)."""
        import bisect

        line = bisect.bisect_left(self._newlines, offset)
        start = self._newlines[line - 1] + 1 if line else 0
        return line + 1, offset - start + 1

    @functools.cached_property
    def _lines(self) -> list[str]:
        return self.text.split("\n")

    def line_text(self, line: int) -> str:
        """One line (1-based) without its newline; "" past the end."""
        return self._lines[line - 1] if 0 < line <= len(self._lines) else ""


def read_bytes(path: Path) -> bytes:
    """A file's bytes with the fewest system calls (open, fstat, read): a walk of a large tree
    reads thousands of files, where pathlib's read_bytes costs half again as much."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = [os.read(fd, os.fstat(fd).st_size + 1)]
        while chunks[-1]:  # a file that grew since fstat: read on to the end
            chunks.append(os.read(fd, 1 << 16))
        return b"".join(chunks)
    finally:
        os.close(fd)


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes) -> Document:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DocumentError("MM002", "UTF-16 text: mailmigrate edits UTF-8 files only; convert it to UTF-8")
    nul = data.find(b"\0")
    if nul >= 0:
        raise DocumentError("MM002", f"binary content (NUL byte at offset {nul})")
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8):] if bom else data
    try:
        return Document(text=body.decode("utf-8"), bom=bom, digest=digest_of(data))
    except UnicodeDecodeError:
        if bom:
            raise DocumentError("MM002", "starts with a UTF-8 BOM but is not UTF-8 text") from None
    # A legacy 8-bit file (Latin-1, cp1252): decoding byte for byte keeps every byte we do not
    # edit exactly as it was, whatever the real code page is.
    return Document(text=body.decode("latin-1"), bom=False, digest=digest_of(data), encoding="latin-1")


def read_document(path: Path) -> Document:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError("MM001", f"cannot read the file: {exc.strerror or exc}") from None
    return decode(data)


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits. Inserts at one offset keep their order in `edits`."""
    ordered = sorted(enumerate(edits), key=lambda pair: (pair[1].start, pair[0]))
    for (_, first), (_, second) in zip(ordered, ordered[1:]):
        if second.start < first.end:
            raise ValueError(f"overlapping edits at offsets {first.start}-{first.end} and {second.start}")
    for _, edit in reversed(ordered):
        text = text[: edit.start] + edit.text + text[edit.end:]
    return text
