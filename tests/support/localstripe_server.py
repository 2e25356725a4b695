"""Start localstripe with its state in memory only.

localstripe pickles its whole store to the fixed file ``/tmp/localstripe.pickle`` on every write: two
test sessions on one machine would share (and truncate) it, and the rewrite slows every request. The
tests make their own data, so this launcher runs localstripe's own server with persistence switched off.
Usage: ``python -m tests.support.localstripe_server --port P``.
"""

from __future__ import annotations

from localstripe import resources, server


def _no_disk(self: resources.Store) -> None:
    return None


def main() -> None:
    resources.Store.try_load_from_disk = _no_disk  # type: ignore[method-assign]
    resources.Store.dump_to_disk = _no_disk  # type: ignore[method-assign]
    server.start()


if __name__ == "__main__":
    main()
