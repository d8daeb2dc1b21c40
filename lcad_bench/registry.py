"""One generic registry for models (and other plug-in kinds).

Lookup order for a name:

1. names registered by decorator (``@models.register("gray")``) or lazily as ``"module:Class"``
   strings, so ``import lcad_bench`` never imports torch;
2. a literal ``module:Class`` path (``--model my_pkg.colorizers:Mine``);
3. the entry-point group (``lcad_bench.models``), read once on the first miss or by ``names()``;
4. a :class:`~lcad_bench.errors.UsageError` listing close matches ("did you mean ...").
"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from lcad_bench.errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> class (or lazy ``"module:attr"`` string / entry point)."""

    def __init__(self, kind: str, base: type | None = None, group: str | None = None) -> None:
        self.kind = kind
        self.base = base
        self.group = group
        self._entries: dict[str, Any] = {}
        self._eps_loaded = False
        self._lock = threading.Lock()

    def register(self, name: str, target: Any = None) -> Callable[[T], T] | None:
        """Register ``target`` (a class or ``"module:attr"``) under ``name``; without ``target``,
        return a class decorator."""
        if target is not None:
            self._add(name, target)
            return None

        def deco(obj: T) -> T:
            self._add(name, obj)
            return obj

        return deco

    def _add(self, name: str, target: Any) -> None:
        with self._lock:
            old = self._entries.get(name)
            if (
                old is not None
                and old is not target
                and not (isinstance(old, str) and not isinstance(target, str))
            ):
                raise ValueError(f"{self.kind} {name!r} is already registered ({old!r})")
            self._entries[name] = target

    def _load_entry_points(self) -> None:
        if self._eps_loaded or not self.group:
            return
        self._eps_loaded = True
        for ep in entry_points(group=self.group):
            self._entries.setdefault(ep.name, ep)

    def names(self) -> list[str]:
        """Every known name (built-in and entry points)."""
        self._load_entry_points()
        return sorted(self._entries)

    def get(self, name: str) -> type:
        """Resolve ``name`` to its class (importing it on first use)."""
        target = self._entries.get(name)
        if target is None and ":" in name:
            target = name
        if target is None:
            self._load_entry_points()
            target = self._entries.get(name)
        if target is None:
            close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UsageError(
                f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(self.names())}. "
                f"Third-party {self.kind}s can be passed as module:Class or registered under the "
                f"entry-point group {self.group!r}."
            )
        obj = self._resolve(name, target)
        if self.base is not None and not (isinstance(obj, type) and issubclass(obj, self.base)):
            raise UsageError(
                f"{self.kind} {name!r} resolves to {obj!r}, which is not a subclass of {self.base.__name__}"
            )
        if name in self._entries:
            self._entries[name] = obj
        return obj

    def _resolve(self, name: str, target: Any) -> Any:
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            try:
                mod = importlib.import_module(module)
            except ModuleNotFoundError as exc:
                raise UsageError(
                    f"{self.kind} {name!r}: cannot import module {module!r} ({exc})"
                ) from exc
            try:
                return getattr(mod, attr)
            except AttributeError as exc:
                raise UsageError(
                    f"{self.kind} {name!r}: module {module!r} has no attribute {attr!r}"
                ) from exc
        if hasattr(target, "load") and hasattr(target, "group"):  # an EntryPoint
            try:
                return target.load()
            except Exception as exc:  # noqa: BLE001  (third-party code: report, don't crash)
                raise UsageError(
                    f"{self.kind} {name!r} from entry point {target.value!r} failed to load: {exc}"
                ) from exc
        return target
