"""Request bodies read into memory under a byte cap, and the form data parsed from those bytes.

``read`` refuses a body whose declared length is over the cap before reading it, and stops
reading (:class:`~allocator.web.service.TooLarge`, HTTP 413) as soon as the bytes received pass
the cap, so a body without a Content-Length (chunked) is bounded too.  ``form`` parses the bytes
read with starlette's own multipart and urlencoded parsers, with every part kept in memory: the
uploaded files are never written to disk, and a part is bounded by the body's cap only, so the
routes' own size checks name the field that is too large.
"""
from __future__ import annotations

from typing import AsyncIterator

from fastapi import Request
from starlette.datastructures import FormData, Headers
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from allocator.errors import InputError
from allocator.web.service import TooLarge


class NotFormData(InputError):
    """A body sent as form data that cannot be parsed as such (HTTP 400)."""


class _InMemoryMultiPart(MultiPartParser):
    """starlette's multipart parser with its spool threshold above the body's cap: no part can
    pass it, so no file part rolls over to a temporary file on disk."""

    def __init__(self, headers: Headers, stream: AsyncIterator[bytes], limit: int):
        super().__init__(headers, stream, max_part_size=limit)
        self.spool_max_size = limit + 1


def check_length(request: Request, limit: int, parts: str) -> None:
    """Refuse (413) a body whose declared length is over ``limit`` before reading it."""
    size = request.headers.get("content-length", "")
    if size.isdigit() and int(size) > limit:
        raise TooLarge(f"request body of {int(size):,} bytes is over the {limit:,}-byte limit ({parts})")


async def read(request: Request, limit: int, parts: str) -> bytes:
    """The whole body, at most ``limit`` bytes; ``parts`` says what the limit is made of."""
    check_length(request, limit, parts)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"request body of more than {limit:,} bytes is over the limit ({parts})")
    return bytes(data)


def content_type(request: Request) -> str:
    """The body's media type, lower case, without its parameters."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def form(request: Request, limit: int, parts: str) -> FormData:
    """The form fields of a multipart or urlencoded body read by :func:`read` (other bodies:
    :class:`NotFormData`)."""
    data = await read(request, limit, parts)
    kind = content_type(request)
    try:
        if kind == "multipart/form-data":
            _complete(request, data)
            return await _InMemoryMultiPart(request.headers, _once(data), limit).parse()
        if kind == "application/x-www-form-urlencoded":
            return await FormParser(request.headers, _once(data), max_part_size=limit).parse()
    except MultiPartException as e:
        raise NotFormData(_not_form(kind, e.message)) from None
    raise NotFormData(f"request body: {kind or 'no content type'} is not a form; send the fields as "
                      "multipart/form-data or URL-encoded")


def _complete(request: Request, data: bytes) -> None:
    """Refuse a multipart body cut short (no closing boundary): the parser would drop its last
    part without a word, and a catalog cut off in transit would silently become the demo catalog."""
    from starlette.formparsers import parse_options_header

    _, params = parse_options_header(request.headers.get("content-type", ""))
    mark = b"--" + params.get(b"boundary", b"")
    if len(mark) > 2 and mark in data[:4096] and not data.rstrip(b"\r\n\t ").endswith(mark + b"--"):
        raise NotFormData(_not_form("multipart/form-data", "it ends before its closing boundary: cut short?"))


def _not_form(kind: str, why: str) -> str:
    """The one-line refusal of a body that the form parsers cannot read (starlette's reason when it names one)."""
    why = "" if why.startswith("Invalid") else f" ({why.rstrip('.')})"
    if kind == "multipart/form-data":
        return (f"request body: not valid multipart form data{why}; send the fields as multipart/form-data, "
                "each part after the boundary that the Content-Type header names")
    return f"request body: not valid form data{why}; send the fields URL-encoded"


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
