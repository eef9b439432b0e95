"""Pure programme rules: no I/O, no framework imports.

Everything here takes plain values and returns plain values or raises a `DomainError`.
"""
