"""Make ask-sdk-webservice-support importable where oscrypto 1.3.0 cannot read OpenSSL's version.

``ask_sdk_webservice_support.verifier`` imports certvalidator, which imports oscrypto. oscrypto
1.3.0 (the newest on PyPI) reads the libcrypto version with the pattern ``\\d\\.\\d\\.\\d``, which
does not match OpenSSL 3.0.10 and later ("3.0.19" has a two-digit patch number), and raises
``LibraryNotFoundError`` at import (wbond/oscrypto issues 75 and 78; fixed on oscrypto's master,
not released). Every web-service framework of the ASK SDK then fails to import.

For the tests only, this loads oscrypto's version module with the pattern upstream uses now
(``\\d+\\.\\d+\\.\\d+``); everything else is oscrypto's own code, so signature verification still
runs for real. Where oscrypto imports as it is, nothing is changed.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

_OLD = "'\\\\b(\\\\d\\\\.\\\\d\\\\.\\\\d[a-z]*)\\\\b'"
_NEW = "'\\\\b(\\\\d+\\\\.\\\\d+\\\\.\\\\d+[a-z]*)\\\\b'"


def ensure_webservice_support_importable() -> None:
    from oscrypto.errors import LibraryNotFoundError

    try:
        importlib.import_module("certvalidator")
        return
    except LibraryNotFoundError:
        pass
    for name in ("oscrypto._openssl._libcrypto_cffi", "oscrypto._openssl._libcrypto_ctypes"):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            continue
        source = spec.loader.get_source(name)  # type: ignore[attr-defined]
        if source is None or _OLD not in source:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            exec(compile(source.replace(_OLD, _NEW), spec.origin or name, "exec"), module.__dict__)
        except Exception:  # e.g. cffi missing: let oscrypto fall back to the next backend module
            del sys.modules[name]
    importlib.import_module("certvalidator")
