"""`python -m allocator`: the same entry point as the console script."""
from allocator._entry import console

console()
