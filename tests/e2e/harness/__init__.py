"""The end-to-end harness behind tests/e2e/matrix.py: what each scenario expects (read from
the scenario itself), the interpreters and debuggers that drive a cell, and the comparisons
of awaitwhat's answers with the oracle, with CPython's own view and with each other."""
