"""SportStream, a small sports streaming service that pushes its charges (see ``simulator`` for the
documented protocol and ``provider`` for the adapter)."""
