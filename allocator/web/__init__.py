"""`allocator serve`: a local web page (FastAPI, Jinja2 templates, vendored htmx) on the public API.

``app`` (the FastAPI app factory), ``pages`` and ``jsonapi`` (routers), ``forms`` (the profile
form), ``service`` (solve, uploads, figures), ``jobs`` (the bounded worker pool).  Needs the
``web`` extra: ``pip install 'allocator[web]'``.
"""
