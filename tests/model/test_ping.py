"""Ping declarations: every bad declaration fails at class creation with a message to act on."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import pingsdk


def declare(registry: pingsdk.PingRegistry, name: str = "P", **keywords: Any) -> type[pingsdk.Ping]:
    """Create a ping class with the given class keywords (namespace/doctype/version defaulted)."""
    keywords.setdefault("namespace", "my-app")
    keywords.setdefault("doctype", "my-ping")
    keywords.setdefault("version", 1)
    keywords["registry"] = registry
    body = {"__annotations__": {"x": int}, "__module__": __name__, "__qualname__": name}
    return type(name, (pingsdk.Ping,), body, **keywords)


def test_good_declaration(registry: pingsdk.PingRegistry) -> None:
    class SearchCounts(
        pingsdk.Ping, namespace="my-app", doctype="search-counts", version=1, registry=registry
    ):
        """Daily search counts per engine."""

        engine: str = Field(description="Search engine identifier.")
        count: int = Field(ge=0, description="Searches in the period.")

    info = SearchCounts.ping_info()
    assert info.key == ("my-app", "search-counts", 1)
    assert info.review.questions == "Daily search counts per engine."
    assert registry.get("my_app", "search_counts", 1) is SearchCounts
    assert SearchCounts(engine="ddg", count=3).to_json_bytes() == b'{"engine":"ddg","count":3}'


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("namespace", "My-App"),
        ("namespace", "my_app"),
        ("namespace", "my.app"),
        ("namespace", "-my-app"),
        ("namespace", "my-app-"),
        ("namespace", ""),
        ("doctype", "search counts"),
        ("doctype", "Search"),
        ("doctype", "-search"),
        ("doctype", "search-"),
        ("doctype", "süch"),
    ],
)
def test_bad_names(registry: pingsdk.PingRegistry, kind: str, value: str) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        declare(registry, "BadName", **{kind: value})
    message = str(info.value)
    assert message.startswith("BadName: ")
    assert f"{kind} {value!r} is not lowercase kebab-case" in message
    assert "not starting or ending with '-'" in message


def test_name_must_be_str(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError, match="P: doctype must be a str, got int"):
        declare(registry, doctype=3)


@pytest.mark.parametrize("version", [0, -1, True, "1", 1.0, None])
def test_bad_version(registry: pingsdk.PingRegistry, version: object) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        declare(registry, "V", version=version)
    assert str(info.value) == f"V: version must be a positive int, got {version!r}"


@pytest.mark.parametrize("kind", ["namespace", "doctype"])
@pytest.mark.parametrize("value", ["my-app\n", "my-app\r\n", "\nmy-app", "my\napp"])
def test_names_with_newlines_refused(registry: pingsdk.PingRegistry, kind: str, value: str) -> None:
    # re's "$" matches before a trailing newline: names are checked with fullmatch.
    with pytest.raises(pingsdk.PingDefinitionError, match="is not lowercase kebab-case"):
        declare(registry, "Nl", **{kind: value})
    with pytest.raises(pingsdk.ConfigurationError):
        pingsdk._naming.validate_name(kind, value)
    assert len(registry) == 0


def test_example_name_with_newline_refused(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        declare(registry, examples={"ok\n": {"x": 1}})
    assert "examples name 'ok\\n' must use only letters" in str(info.value)


def test_largest_version_the_pipeline_stores(registry: pingsdk.PingRegistry) -> None:
    cls = declare(registry, "Big", version=2**63 - 1)
    assert cls.ping_info().version == 2**63 - 1
    assert pingsdk.schema.export_schema(cls)["mozPipelineMetadata"]["bq_table"] == (
        "my_ping_v9223372036854775807"
    )


@pytest.mark.parametrize("version", [2**63, 2**64, 10**5000], ids=["2**63", "2**64", "5001-digits"])
def test_version_beyond_64_bits_refused(registry: pingsdk.PingRegistry, version: int) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        declare(registry, "Huge", version=version)
    assert str(info.value) == (
        "Huge: version must be at most 2**63 - 1 (the pipeline stores it as a 64-bit integer), "
        f"got an int of {version.bit_length()} bits"
    )


def test_misspelt_keyword_suggests(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        declare(registry, "Typo", doc_type="x")
    assert "Typo: unknown class keyword 'doc_type' (did you mean 'doctype'?)" in str(info.value)


def test_unknown_keyword(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError, match="unknown class keyword 'colour'"):
        declare(registry, colour="blue")


def test_telemetry_needs_opt_in(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        declare(registry, "Legacy", namespace="telemetry")
    assert "the 'telemetry' namespace is reserved" in str(info.value)
    assert "pass legacy_telemetry=True" in str(info.value)
    cls = declare(registry, "Legacy", namespace="telemetry", legacy_telemetry=True)
    assert cls.ping_info().legacy_telemetry


def test_legacy_flag_needs_telemetry_namespace(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError, match="legacy_telemetry=True needs"):
        declare(registry, legacy_telemetry=True)


def test_duplicate_identity(registry: pingsdk.PingRegistry) -> None:
    declare(registry, "First")
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        declare(registry, "Second")
    message = str(info.value)
    assert (
        "Second: namespace='my-app' doctype='my-ping' version=1 is already declared by" in message
    )
    assert f"{__name__}.First" in message
    assert "bump the version" in message


def test_same_identity_in_other_registry_is_fine(registry: pingsdk.PingRegistry) -> None:
    declare(registry, "First")
    declare(pingsdk.PingRegistry(), "Second")


def test_redefinition_is_a_reload(registry: pingsdk.PingRegistry) -> None:
    first = declare(registry, "Same")
    second = declare(registry, "Same")
    assert registry.get("my-app", "my-ping", 1) is second is not first


@pytest.mark.parametrize(
    ("keywords", "missing"),
    [
        ({"doctype": "a"}, "namespace, version"),
        ({"doctype": "a", "version": 1}, "namespace"),
        ({"namespace": "a", "version": 1}, "doctype"),
        ({"namespace": "a", "doctype": "b"}, "version"),
    ],
)
def test_partial_identity(
    registry: pingsdk.PingRegistry, keywords: dict[str, Any], missing: str
) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        type(
            "Half",
            (pingsdk.Ping,),
            {"__module__": __name__, "__qualname__": "Half"},
            registry=registry,
            **keywords,
        )
    assert str(info.value).startswith(f"Half: missing class keyword {missing}; ")


def test_abstract_base_shares_namespace(registry: pingsdk.PingRegistry) -> None:
    class Base(pingsdk.Ping, namespace="my-app"):
        common: int = 0

    class Child(Base, doctype="child", version=2, registry=registry):
        pass

    assert Base.is_abstract()
    assert Child.ping_info().key == ("my-app", "child", 2)
    with pytest.raises(pingsdk.PingDefinitionError, match="Base is an abstract ping base"):
        Base.ping_info()


def test_registry_must_be_a_registry() -> None:
    with pytest.raises(
        pingsdk.PingDefinitionError, match=r"registry must be a pingsdk\.PingRegistry"
    ):
        declare({}, "R")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("review_kwargs", "message"),
    [
        ({"category": 5}, "category must be 1-4 (a pingsdk.DataCategory), got 5"),
        ({"owners": "a@example.com"}, "owners must be a tuple of strings, not one string"),
        ({"owners": ("not-an-email",)}, "owners must be email addresses, got 'not-an-email'"),
        ({"bugs": ("bug 123",)}, "expected an http(s) URL, got 'bug 123'"),
        ({"data_review": "ftp://x"}, "expected an http(s) URL, got 'ftp://x'"),
        ({"expires": "2027-01-01"}, "expires must be a datetime.date, got '2027-01-01'"),
        (
            {"expires": datetime.datetime(2027, 1, 1)},
            "expires must be a datetime.date, got datetime.datetime(2027, 1, 1, 0, 0)",
        ),
        ({"delete_after_days": 0}, "delete_after_days must be a positive int, got 0"),
        ({"delete_after_days": True}, "delete_after_days must be a positive int, got True"),
    ],
)
def test_bad_review_facts(review_kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(pingsdk.ConfigurationError) as info:
        pingsdk.DataReview(**review_kwargs)
    assert str(info.value) == message


def test_review_must_be_data_review(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(
        pingsdk.PingDefinitionError, match=r"P: review must be a pingsdk\.DataReview"
    ):
        declare(registry, review={"category": 1})


def test_explicit_questions_win_over_docstring(registry: pingsdk.PingRegistry) -> None:
    class Q(
        pingsdk.Ping,
        namespace="a",
        doctype="q",
        version=1,
        registry=registry,
        review=pingsdk.DataReview(questions="Which engines are used?"),
    ):
        """Docstring."""

    assert Q.ping_info().review.questions == "Which engines are used?"


@pytest.mark.parametrize("name", ["has.dot", "has space", "", "é"])
def test_bad_example_names(registry: pingsdk.PingRegistry, name: str) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        declare(registry, "E", examples={name: {"x": 1}})
    assert str(info.value) == (
        f"E: examples name {name!r} must use only letters, digits, '_' and '-' "
        "(it becomes part of a validation file name)"
    )


def test_example_must_be_valid(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        declare(registry, "E", examples={"bad": {"x": "three"}})
    assert "E: examples['bad'] is not a valid E: 1 error(s)" in str(info.value)
    assert "at x" in str(info.value)


def test_examples_must_be_mappings(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError, match="fail_examples must map a test name"):
        declare(registry, fail_examples=[{"x": 1}])
    with pytest.raises(pingsdk.PingDefinitionError, match=r"examples\['a'\] must be a dict"):
        declare(registry, examples={"a": 1})


def test_additional_properties_needs_matching_extra(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        declare(registry, "Open", additional_properties=True)
    assert str(info.value) == (
        "Open: additional_properties=True needs model_config extra='allow' so the model "
        "accepts what the schema does"
    )

    with pytest.raises(pingsdk.PingDefinitionError, match="additional_properties=False needs"):

        class Loose(pingsdk.Ping, namespace="a", doctype="b", version=1, registry=registry):
            model_config = ConfigDict(extra="allow")

    class Open(
        pingsdk.Ping,
        namespace="a",
        doctype="b",
        version=1,
        registry=registry,
        additional_properties=True,
    ):
        model_config = ConfigDict(extra="allow")

    assert Open.ping_info().additional_properties
    assert Open.model_validate({"new": 1}).to_json_bytes() == b'{"new":1}'


def test_pipeline_metadata_checked(registry: pingsdk.PingRegistry) -> None:
    with pytest.raises(pingsdk.PingDefinitionError) as info:
        declare(registry, "M", pipeline_metadata={"bq_tabel": "x"})
    assert "M: unknown pipeline_metadata key 'bq_tabel'" in str(info.value)
    with pytest.raises(pingsdk.PingDefinitionError, match="must not set expiration_policy"):
        declare(registry, "M", pipeline_metadata={"expiration_policy": {}})


def test_field_categories(registry: pingsdk.PingRegistry) -> None:
    class Inner(BaseModel):
        url: Annotated[str, pingsdk.DataCategory.STORED_CONTENT]

    class C(
        pingsdk.Ping,
        namespace="a",
        doctype="c",
        version=1,
        registry=registry,
        review=pingsdk.DataReview(category=pingsdk.DataCategory.TECHNICAL),
    ):
        inner: Inner
        terms: Annotated[list[str], pingsdk.DataCategory.HIGHLY_SENSITIVE] = Field(
            default_factory=list
        )

    info = C.ping_info()
    assert info.field_categories == {
        "inner.url": pingsdk.DataCategory.STORED_CONTENT,
        "terms": pingsdk.DataCategory.HIGHLY_SENSITIVE,
    }
    assert info.category is pingsdk.DataCategory.HIGHLY_SENSITIVE


def test_construction_validates(registry: pingsdk.PingRegistry) -> None:
    cls = declare(registry)
    with pytest.raises(ValidationError):
        cls(x="nope")
    with pytest.raises(ValidationError):
        cls(x=1, unknown=2)
