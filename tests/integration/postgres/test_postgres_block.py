"""The PostgresConnection block: block standards, the DSN without password, what it builds."""

from __future__ import annotations

import pytest
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import ValidationError

from blocks.connections import CONNECTION_BLOCKS
from blocks.postgres import PostgresConnection

CANARY = "canary-pg-91c2"


class TestBlockStandards(BlockStandardTestSuite):
    """Prefect's own block checks (description, field docs, code example)."""

    @pytest.fixture
    def block(self):
        """The PostgreSQL connection block class."""
        return PostgresConnection


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        (f"postgresql://agent:{CANARY}@db/app", "must not contain the password"),
        (f"host=db dbname=app password={CANARY}", "must not contain the password"),
        ("postgresql://agent@db", "must name the database"),
    ],
)
def test_a_dsn_with_a_password_or_without_a_database_is_refused(dsn: str, message: str) -> None:
    """The password belongs in its SecretStr field, and the error never repeats it."""
    with pytest.raises(ValidationError, match=message) as caught:
        PostgresConnection(dsn=dsn, allowed_roles=["app"])
    assert CANARY not in str(caught.value)


def test_the_guard_and_password_reach_the_client_and_stay_hidden() -> None:
    """The built client carries the guard and database; the password shows nowhere."""
    block = PostgresConnection(
        dsn="postgresql://agent@db:5432/shop",
        password=CANARY,
        allowed_roles=["app"],
        max_count=3,
        min_age_s=30,
    )
    client = block.build_client()
    assert CANARY not in repr(block) and CANARY not in block.model_dump_json()
    assert (client.database, client.guard.max_count, client.guard.min_age_s) == ("shop", 3, 30)
    assert client.guard.allowed_roles == ["app"]
    assert CONNECTION_BLOCKS["postgres"] is PostgresConnection


def test_at_least_one_role_must_be_allowed() -> None:
    """A connection that allows no role is refused: terminate_queries could never act."""
    with pytest.raises(ValidationError, match="allowed_roles"):
        PostgresConnection(dsn="postgresql://agent@db/app", allowed_roles=[])
