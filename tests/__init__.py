"""The test suite. Helpers in tests/support/ assert too: their asserts are rewritten like a test's, so a
failing helper shows the values it compared."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.support")
