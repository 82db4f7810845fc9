"""Append-only JSON-lines journal with resume."""

from asap_lab.journal._journal import Journal, JournalContents, dumps, read_journal

__all__ = ["Journal", "JournalContents", "dumps", "read_journal"]
