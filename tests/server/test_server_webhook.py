"""The review endpoint's body reading, in process: the size limit and the uid of an oversized body."""

from __future__ import annotations

import asyncio
from typing import Any

from app.admission.review import uid_from_prefix
from app.server.webhook import read_body


def _read(chunks: list[bytes], limit: int, declared: int | None = None) -> tuple[bytes, bytes | None]:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return asyncio.run(read_body(receive, limit, declared))


def test_a_body_within_the_limit_is_read_whole_from_its_chunks() -> None:
    assert _read([b'{"a": ', b"1}"], limit=1024) == (b'{"a": 1}', None)


def test_the_uid_of_an_oversized_body_is_found_in_the_chunk_that_crosses_the_limit() -> None:
    chunks = [b'{"request": ', b'{"uid": "late-uid", "object": "' + b"x" * 5000, b'"}}']

    body, prefix = _read(chunks, limit=1024)

    assert body == b""
    assert prefix is not None and uid_from_prefix(prefix) == "late-uid"
