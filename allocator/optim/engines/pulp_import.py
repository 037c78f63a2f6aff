"""PuLP, imported so that Ctrl-C always stops the command.

PuLP imports highspy inside a bare ``except:`` while it defines its HiGHS class: a Ctrl-C
landing during that import is swallowed, and the class is left without its solve methods
(the command then fails later with an AttributeError instead of "allocator: interrupted").
Importing highspy first, outside PuLP, lets the interrupt through.  Every module that needs
PuLP imports it from here.
"""
import highspy  # noqa: F401  (must precede pulp)
import pulp  # noqa: F401

__all__ = ["pulp"]
