"""A strict runtime check of JSON data against typing annotations (TypedDicts included).

pydantic cannot do this for the SDK request types: they use `Iterable[...]`, which pydantic
validates lazily (never, for data nobody iterates), and TypedDicts ignore unknown keys.
Here every list item is checked and an unknown key in a TypedDict is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
import types
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    ReadOnly,
    Required,
    TypeAliasType,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from pydantic import BaseModel, ValidationError

# typing_extensions, not typing: the SDKs build their TypedDicts with typing_extensions.
from typing_extensions import is_typeddict

_WRAPPERS = (Annotated, Required, NotRequired, ReadOnly)
_LIST_ORIGINS = (list, tuple, Sequence, Iterable)
_MAPPING_ORIGINS = (dict, Mapping)


class TypeMismatch(ValueError):
    """Data that does not fit the annotation; `path` locates it, `depth` ranks union errors."""

    def __init__(self, path: str, message: str, *, wrong_variant: bool = False) -> None:
        """Keep where the mismatch is.

        A wrong type or Literal right at a union member's root usually means "another member
        was meant": such errors rank below ones found deeper inside a member that fitted.
        """
        super().__init__(f"{path or '<body>'}: {message}")
        self.path = path
        self.depth = path.count(".") + path.count("[") - (100 if wrong_variant else 0)


def check_type(value: Any, annotation: Any, path: str = "") -> None:
    """Raise TypeMismatch unless value (parsed JSON) fits annotation exactly."""
    if annotation is Any or annotation is object:
        return
    if isinstance(annotation, TypeAliasType):
        check_type(value, annotation.__value__, path)
        return
    origin = get_origin(annotation)
    if origin in _WRAPPERS:
        check_type(value, get_args(annotation)[0], path)
        return
    if origin is Union or origin is types.UnionType:
        _check_union(value, get_args(annotation), path)
        return
    if origin is Literal:
        # Type-aware: True must not pass for Literal[1], nor 1 for Literal[True].
        if not any(
            type(value) is type(arg) and value == arg for arg in get_args(annotation)
        ):
            raise TypeMismatch(
                path,
                f"{value!r} is not one of {get_args(annotation)}",
                wrong_variant=True,
            )
        return
    if annotation is None or annotation is type(None):
        if value is not None:
            raise TypeMismatch(
                path, f"expected null, got {type(value).__name__}", wrong_variant=True
            )
        return
    if is_typeddict(annotation):
        _check_typeddict(value, annotation, path)
        return
    if origin is not None and _is_list_origin(origin):
        if not isinstance(value, list):
            raise TypeMismatch(
                path,
                f"expected an array, got {type(value).__name__}",
                wrong_variant=True,
            )
        args = get_args(annotation)
        item_type = args[0] if args else Any
        for index, item in enumerate(value):
            check_type(item, item_type, f"{path}[{index}]")
        return
    if origin is not None and _is_mapping_origin(origin):
        if not isinstance(value, dict):
            raise TypeMismatch(
                path,
                f"expected an object, got {type(value).__name__}",
                wrong_variant=True,
            )
        args = get_args(annotation)
        for key, item in value.items():
            check_type(item, args[1] if len(args) == 2 else Any, f"{path}.{key}")
        return
    _check_plain(value, annotation, path)


def _is_list_origin(origin: Any) -> bool:
    # SequenceNotStr (the SDKs' own protocol) is a list on the wire too.
    return (
        origin in _LIST_ORIGINS or getattr(origin, "__name__", "") == "SequenceNotStr"
    )


def _is_mapping_origin(origin: Any) -> bool:
    return origin in _MAPPING_ORIGINS


def _check_union(value: Any, members: tuple[Any, ...], path: str) -> None:
    best: TypeMismatch | None = None
    for member in members:
        try:
            check_type(value, member, path)
        except TypeMismatch as err:
            if best is None or err.depth > best.depth:
                best = err
        else:
            return
    if best is None:
        raise TypeMismatch(path, "matches no member of the union")
    raise best


def _check_typeddict(value: Any, annotation: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise TypeMismatch(
            path,
            f"expected an object ({annotation.__name__}), got {type(value).__name__}",
            wrong_variant=True,
        )
    hints = get_type_hints(annotation, include_extras=True)
    # Discriminators first (role, type): a body meant for another union member fails
    # there, and the member it was meant for reports the real problem.
    for key, item in value.items():
        if key in hints and _is_literal(hints[key]):
            check_type(item, hints[key], f"{path}.{key}" if path else key)
    missing = sorted(_required_keys(annotation, hints) - value.keys())
    if missing:
        raise TypeMismatch(
            path, f"missing required key {missing[0]!r} ({annotation.__name__})"
        )
    for key, item in value.items():
        if key not in hints:
            raise TypeMismatch(
                f"{path}.{key}" if path else key,
                f"unknown key for {annotation.__name__}",
            )
        check_type(item, hints[key], f"{path}.{key}" if path else key)


def _is_literal(annotation: Any) -> bool:
    while get_origin(annotation) in _WRAPPERS:
        annotation = get_args(annotation)[0]
    return get_origin(annotation) is Literal


def _required_keys(annotation: Any, hints: dict[str, Any]) -> set[str]:
    """Required keys, read from the resolved hints.

    The SDK modules use `from __future__ import annotations`, so at class creation the
    `Required[...]` markers are strings and `__required_keys__` misses them.
    """
    # Totality is per class: `__required_keys__` has it right for keys inherited from a base
    # of another totality (the SDKs' `...Streaming(...Base)`); the explicit markers then apply.
    required = set(annotation.__required_keys__)
    for key, hint in hints.items():
        origin = get_origin(hint)
        if origin is Annotated:
            origin = get_origin(get_args(hint)[0])
        if origin is Required:
            required.add(key)
        elif origin is NotRequired:
            required.discard(key)
    return required


def _check_plain(value: Any, annotation: Any, path: str) -> None:
    if annotation is bool:
        ok = isinstance(value, bool)
    elif annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif annotation is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif annotation is str:
        ok = isinstance(value, str)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        try:
            annotation.model_validate(value)
        except ValidationError as err:
            # SDK unions accept their response models too (e.g. TextBlock in content): a
            # failure there ranks as "another member was meant".
            raise TypeMismatch(path, str(err), wrong_variant=True) from err
        return
    else:
        # Types JSON cannot carry (files, bytes, datetimes): nothing to check on the wire.
        return
    if not ok:
        name = getattr(annotation, "__name__", str(annotation))
        raise TypeMismatch(
            path, f"expected {name}, got {type(value).__name__}", wrong_variant=True
        )
