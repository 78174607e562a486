"""The code shown in the documentation, kept here so the test suite runs all of it.

The pages include these files with ``literalinclude``; ``tests/docs/test_snippets.py``
imports every module and runs the examples and the example tests they contain.
"""
