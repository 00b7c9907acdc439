"""Guards that refuse an oversized, compressed-bomb or malformed file before pandas reads it.

Every check here reads a bounded number of bytes: the size on disk comes from ``stat``, the
header line is read with a length limit, and decompression counts bytes as they stream and stops
at the cap, so a 1 KB gzip that expands to gigabytes costs at most the cap.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_HEADER_BYTES = 1024 * 1024  # a header longer than this is not a header anyone wrote by hand


@dataclass(frozen=True)
class ReadLimits:
    """Caps on one source read; the spec may set its own, else these platform defaults apply."""

    max_bytes: int = 200 * 1024 * 1024
    max_decompressed_bytes: int = 1024 * 1024 * 1024
    max_columns: int = 1000


class SourceRefused(ValueError):
    """The source breaks a reading rule; ``rule`` and ``column`` say which and where."""

    def __init__(self, message: str, rule: str, column: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.column = column


class DecompressedTooLarge(SourceRefused):
    pass


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def check_size(path: Path, limits: ReadLimits) -> None:
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise SourceRefused(
            f"{path.name} is {size:,} bytes, over the cap of {limits.max_bytes:,} bytes; "
            "raise source.max_bytes in the spec (or ASTRALYTIQ_SOURCE_MAX_BYTES) if it is meant to be this big",
            rule="size cap",
        )


class CappedReader(io.RawIOBase):
    """A read-only stream that raises once more than ``cap`` bytes have come through it."""

    def __init__(self, inner: BinaryIO, cap: int, name: str) -> None:
        self._inner = inner
        self._cap = cap
        self._name = name
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        # Read at most one byte past the cap: enough to know the cap was crossed.
        want = min(len(buffer), self._cap - self.count + 1)
        try:
            data = self._inner.read(want)
        except (OSError, EOFError, zlib.error) as exc:
            raise SourceRefused(
                f"{self._name} is not a readable gzip file ({exc}); re-compress it or save it uncompressed",
                rule="gzip format",
            ) from None
        self.count += len(data)
        if self.count > self._cap:
            raise DecompressedTooLarge(
                f"{self._name} decompresses to more than {self._cap:,} bytes, the cap; "
                "raise source.max_decompressed_bytes in the spec (or ASTRALYTIQ_SOURCE_MAX_DECOMPRESSED_BYTES) "
                "if the data is really that big",
                rule="decompressed size cap",
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_capped(path: Path, limits: ReadLimits) -> io.BufferedReader:
    """The file's (decompressed) bytes, cut off with an error past the decompressed cap."""
    raw: BinaryIO = path.open("rb")
    inner: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if is_gzip(path) else raw  # type: ignore[assignment]
    return io.BufferedReader(CappedReader(inner, limits.max_decompressed_bytes, path.name))


def read_header(path: Path, limits: ReadLimits) -> list[str]:
    """The column names of a CSV file, read from a bounded first line."""
    with open_capped(path, limits) as stream:
        line = stream.readline(MAX_HEADER_BYTES + 1)
    if not line.strip():
        raise SourceRefused(
            f"{path.name} is empty: it needs a header row (series_id, ds, y, ...) and data rows",
            rule="header row",
        )
    if len(line) > MAX_HEADER_BYTES and not line.endswith(b"\n"):
        raise SourceRefused(
            f"{path.name}: the first line is longer than {MAX_HEADER_BYTES:,} bytes, which is no header "
            "row; is this a CSV file?",
            rule="header row",
        )
    text = _decode(line, path, line_number=1, header=None)
    names = next(csv.reader([text.rstrip("\r\n")]))
    if len(names) > limits.max_columns:
        raise SourceRefused(
            f"{path.name} has {len(names):,} columns, over the cap of {limits.max_columns:,}; keep only "
            "the columns the spec names, or raise source.max_columns",
            rule="column cap",
        )
    return [name.strip() for name in names]


def _decode(line: bytes, path: Path, line_number: int, header: list[str] | None) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = _column_at(line, exc.start, header)
        where = f"column {column!r}" if column else "the header"
        raise SourceRefused(
            f"{path.name} line {line_number}, {where}: bytes {line[exc.start : exc.start + 4]!r} are not "
            "UTF-8 text; save the file as UTF-8",
            rule="UTF-8 text",
            column=column,
        ) from None


def _column_at(line: bytes, offset: int, header: list[str] | None) -> str | None:
    if header is None:
        return None
    text = line.decode("utf-8", errors="surrogateescape")
    fields = next(csv.reader([text.rstrip("\r\n")]), [])
    position = 0
    for index, field in enumerate(fields):
        position += len(field.encode("utf-8", errors="surrogateescape")) + 1
        if offset < position:
            return header[index] if index < len(header) else f"#{index + 1}"
    return header[-1] if header else None


def locate_bad_encoding(path: Path, limits: ReadLimits, header: list[str]) -> SourceRefused:
    """The first line that is not UTF-8, as a refusal naming its column (called after a decode error)."""
    with open_capped(path, limits) as stream:
        for number, line in enumerate(iter(lambda: stream.readline(MAX_HEADER_BYTES), b""), start=1):
            try:
                _decode(line, path, number, header)
            except SourceRefused as refused:
                return refused
    return SourceRefused(f"{path.name} is not UTF-8 text; save it as UTF-8", rule="UTF-8 text")
