"""Ferry: hand each customer its own data, in its own warehouse, fresh and complete."""

__version__ = "0.1.0"
