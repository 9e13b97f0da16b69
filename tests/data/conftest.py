"""Lets pytest rewrite the asserts of the shared source-test helpers (sourcetest.py), as it does a test module's."""
import pytest

pytest.register_assert_rewrite("sourcetest")
