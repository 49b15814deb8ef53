"""The transfer engine: claim, plan, run, watermark. It never imports Celery or FastAPI."""

from ferry.transfer.group import run

__all__ = ["run"]
