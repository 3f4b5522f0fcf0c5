"""The BAP client's entry point (gridshare.beckn.client), which `gridshare beckn-client` imports:
it offers every public function and class of the `client_*` modules (but the CLI's and the JSON
file helpers'), as they are there. Each module's own tests are beside this file
(test_client_identity.py, test_client_receiver.py, ...)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import gridshare.beckn
from gridshare.beckn import client

NOT_OFFERED = {"client_cli", "client_files"}


def test_the_entry_point_offers_each_client_modules_functions_and_classes() -> None:
    modules = [
        importlib.import_module(f"gridshare.beckn.{info.name}")
        for info in pkgutil.iter_modules(gridshare.beckn.__path__)
        if info.name.startswith("client_") and info.name not in NOT_OFFERED
    ]
    offered = {
        name: value
        for module in modules
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == module.__name__
    }
    assert len(modules) >= 7
    assert sorted(client.__all__) == sorted(offered)
    assert all(getattr(client, name) is value for name, value in offered.items())
