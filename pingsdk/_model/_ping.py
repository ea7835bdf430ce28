"""The Ping base model: the metaclass that takes the class keywords, and the model itself.

The keywords are resolved into a :class:`PingInfo` by ``_keywords.py``, the class joins a
registry of ``_registry.py``, and its payload bytes are proved valid by ``_payload.py``.
"""

from __future__ import annotations

import datetime
import inspect
import typing
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic._internal._model_construction import ModelMetaclass, build_lenient_weakvaluedict
from pydantic._internal._typing_extra import parent_frame_namespace

from pingsdk._exceptions import PingDefinitionError
from pingsdk._model._keywords import PING_KEYWORDS, PingInfo, check_examples, resolve_info
from pingsdk._model._payload import PayloadCheck, ensure_exportable
from pingsdk._model._registry import PingRegistry, default_registry

__all__ = ["Ping"]


class _PingMeta(ModelMetaclass):
    """Takes the ping's class keywords before pydantic's metaclass sees them.

    ``namespace`` is also the name of the metaclass's own third parameter, so it is taken from
    ``**kwargs`` with the class namespace passed positionally.
    """

    def __new__(
        mcs,
        cls_name: str,
        bases: tuple[type[Any], ...],
        class_dict: dict[str, Any],
        /,
        **kwargs: Any,
    ) -> type:
        ours = {k: kwargs.pop(k) for k in PING_KEYWORDS if k in kwargs}
        unknown = [
            k for k in kwargs if k not in ConfigDict.__annotations__ and not k.startswith("__")
        ]
        if unknown:
            import difflib  # only a mistyped keyword needs it

            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, PING_KEYWORDS, n=1)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise PingDefinitionError(
                f"{cls_name}: unknown class keyword {', '.join(hints)}; "
                f"a Ping accepts {', '.join(PING_KEYWORDS)}"
            )
        if kwargs.pop("__pydantic_reset_parent_namespace__", True):
            # Pydantic reads the namespace of the frame that called its metaclass to resolve
            # annotations naming local classes; with this metaclass in between, that frame
            # would be ours, so hand it the class statement's frame instead.
            class_dict["__pydantic_parent_namespace__"] = build_lenient_weakvaluedict(
                parent_frame_namespace()
            )
        kwargs["__pydantic_reset_parent_namespace__"] = False
        cls = super().__new__(mcs, cls_name, bases, class_dict, **kwargs)
        if class_dict.get("__module__") == __name__ and cls_name == "Ping":
            return cls
        ping_cls = typing.cast("type[Ping]", cls)
        info = resolve_info(ping_cls, ours, _own_docstring(ping_cls))
        cls.__ping_info__ = info  # type: ignore[attr-defined]
        if info is not None:
            registry = ours.get("registry", default_registry)
            if not isinstance(registry, PingRegistry):
                raise PingDefinitionError(f"{cls_name}: registry must be a pingsdk.PingRegistry")
            if ping_cls.__pydantic_complete__:
                ensure_exportable(ping_cls)
            # else a forward reference is still unresolved: Ping.__pydantic_on_complete__
            # checks once pydantic has built the class.
            check_examples(ping_cls, info)
            registry.register(ping_cls)
        return cls


def _own_docstring(cls: type[Ping]) -> str | None:
    """The nearest docstring written on a user's class (never Ping's or BaseModel's)."""
    for klass in cls.__mro__:
        if klass is Ping or klass is BaseModel:
            return None
        doc = klass.__dict__.get("__doc__")
        if doc:
            return inspect.cleandoc(doc)
    return None


_P = TypeVar("_P", bound="Ping")


class Ping(BaseModel, metaclass=_PingMeta):
    """Base class of every ping: a Pydantic model with a pipeline identity.

    Declare a ping with class keywords::

        from pydantic import Field
        import pingsdk

        class SearchCounts(pingsdk.Ping, namespace="my-app", doctype="search-counts", version=1):
            \"\"\"Daily search counts per engine, to learn which engines people actually use.\"\"\"

            engine: str = Field(description="Search engine identifier.")
            count: int = Field(ge=0, description="Searches in the period.")

        ping = SearchCounts(engine="ddg", count=3)
        assert ping.to_json_bytes() == b'{"engine":"ddg","count":3}'

    Class keywords:
        namespace, doctype: lowercase kebab-case (``[a-z0-9-]``, no leading/trailing ``-``).
        version: a positive int, at most 2**63 - 1.
        review: a :class:`DataReview` with the data-review facts.
        examples / fail_examples: ``{"test-name": {payload}}`` written as validation examples.
        additional_properties: open the schema (and the model) to unknown keys; default closed.
        legacy_telemetry: required to use the reserved ``telemetry`` namespace.
        pipeline_metadata: extra ``mozPipelineMetadata`` keys, e.g.
            ``{"submission_timestamp_granularity": "seconds"}``.
        monitor: a :class:`DocTypeMonitor` with the docType monitor's thresholds.
        registry: a :class:`PingRegistry` other than :data:`default_registry`.

    Construction validates (``pydantic.ValidationError`` on bad values). Serialization
    (:meth:`to_json_bytes`) is compact UTF-8 JSON using aliases, with every field present:
    defaults are written out and ``None`` is written as ``null`` (the exported schema allows
    ``null`` exactly for ``Optional`` fields), so a payload means the same to every reader.
    A class with a field no JSON Schema can describe is refused when it is defined, and a
    payload the exported schema would refuse (values that went around validation) is refused
    by :meth:`to_json_bytes` with :class:`InvalidPingError`.

    Added in 0.1.
    """

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        serialize_by_alias=True,
        validate_by_alias=True,
        validate_by_name=True,
        ser_json_bytes="base64",
    )

    __ping_info__: ClassVar[PingInfo | None] = None

    @classmethod
    def ping_info(cls) -> PingInfo:
        """The ping's identity and declared facts; raises for an abstract base class."""
        info = cls.__dict__.get("__ping_info__")
        if info is None:
            raise PingDefinitionError(
                f"{cls.__qualname__} is an abstract ping base (no doctype/version declared)"
            )
        return typing.cast(PingInfo, info)

    @classmethod
    def is_abstract(cls) -> bool:
        """``True`` for a base class without a full identity (not sendable, not exported)."""
        return cls.__dict__.get("__ping_info__") is None

    @classmethod
    def __pydantic_on_complete__(cls) -> None:
        # A class with an unresolved forward reference is built later (model_rebuild() or
        # first use); the metaclass checks every other class itself, before registering it.
        if cls.__dict__.get("__ping_info__") is not None:
            ensure_exportable(cls)
        # A rebuilt class is classified again when next sent.
        cls.__ping_payload_check__ = None  # type: ignore[attr-defined]

    def to_json_bytes(self) -> bytes:
        """The exact JSON bytes that are sent: compact, UTF-8, aliases, every field present.

        The payload is proved valid against the class's exported schema first, so values that
        bypassed validation (assigned after construction, changed in place, or given to
        ``model_construct()``) are never sent.

        Raises:
            InvalidPingError: a value the schema refuses (wrong type, broken constraint, missing
                field, NaN or infinity), an integer outside -2**63..2**63-1, or a value that
                cannot be serialized. The message names the field, never its value.
        """
        check = type(self).__dict__.get("__ping_payload_check__") or PayloadCheck.of(type(self))
        return typing.cast(PayloadCheck, check).encode(self)

    def to_payload(self) -> dict[str, Any]:
        """The payload as a JSON-compatible dict (what :meth:`to_json_bytes` encodes)."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_json_bytes(cls: type[_P], data: bytes | str) -> _P:
        """Parse a payload back into this class (validates)."""
        return cls.model_validate_json(data)

    @classmethod
    def is_expired(cls, today: datetime.date | None = None) -> bool:
        """``True`` once the declared ``review.expires`` date has passed."""
        expires = cls.ping_info().review.expires
        return expires is not None and (today or datetime.date.today()) > expires
