"""Celery workers: thin shells that load ids and call into ``ferry``."""
