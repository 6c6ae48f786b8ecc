"""The fact store: the concept-page format, the data files beside it, ingest and the read-only store.

Owns everything about what the facts *are* and how they are kept (schema SQL, content-derived ids).
It may import nothing else from `bot`: it is the bottom layer.
"""
