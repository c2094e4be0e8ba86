"""The examples in the package's docstrings run as written."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["vchain_wallet", "vchain_wallet.keystore", "vchain_wallet.wallet",
                                    "vchain_wallet.reads", "vchain_wallet.transactions"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
