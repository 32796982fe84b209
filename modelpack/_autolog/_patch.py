"""Replacing library functions with autologging wrappers, and putting the originals back.

Each integration records what it replaced; :func:`revert` restores every attribute exactly as
it was: an attribute the class defined itself gets its original object back, and one it only
inherited is deleted again, so ``cls.fit is original`` holds after disabling.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FunctionType
from typing import Any

__all__ = ["installed", "patch_attribute", "patch_method", "revert"]

_MARK = "__modelpack_autolog__"
_lock = threading.RLock()


@dataclass(frozen=True)
class _Patch:
    owner: Any
    name: str
    own: bool  # the owner defined the attribute itself (else it inherited it)
    original: Any


_patches: dict[str, list[_Patch]] = {}


def installed(integration: str) -> bool:
    """Whether ``integration`` has its wrappers in place."""
    return bool(_patches.get(integration))


def _is_wrapper(obj: Any) -> bool:
    return bool(getattr(obj, _MARK, False))


def patch_attribute(integration: str, owner: Any, name: str, wrapper: Callable[..., Any]) -> None:
    """Set ``owner.name`` to ``wrapper``, remembering what to restore."""
    with _lock:
        own = name in vars(owner)
        original = vars(owner)[name] if own else None
        setattr(wrapper, _MARK, True)
        setattr(owner, name, wrapper)
        _patches.setdefault(integration, []).append(_Patch(owner, name, own, original))


def patch_method(
    integration: str,
    cls: type,
    name: str,
    make_wrapper: Callable[[FunctionType], Callable[..., Any]],
) -> bool:
    """Wrap the method ``name`` that ``cls`` defines or inherits; False when there is none.

    A plain function is wrapped on ``cls`` itself, even when inherited, so that a mixin shared
    with classes that must not be autologged stays untouched. A scikit-learn ``available_if``
    method is a descriptor holding the function in ``.fn``; that function is wrapped in place.
    A method already wrapped (inherited from a patched class) is left alone.
    """
    raw = inspect.getattr_static(cls, name, None)
    if raw is None or _is_wrapper(raw):
        return False
    if isinstance(raw, FunctionType):
        owner, attr, func = cls, name, raw
    elif isinstance(getattr(raw, "fn", None), FunctionType):
        owner, attr, func = raw, "fn", raw.fn
        if _is_wrapper(func):
            return False
    else:
        return False
    patch_attribute(integration, owner, attr, make_wrapper(func))
    return True


def revert(integration: str) -> None:
    """Restore every attribute ``integration`` replaced, newest first."""
    with _lock:
        for patch in reversed(_patches.pop(integration, [])):
            if patch.own:
                setattr(patch.owner, patch.name, patch.original)
            else:
                delattr(patch.owner, patch.name)
