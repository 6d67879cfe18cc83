"""A database fault for the tests of metrics linked to LoggedModels: a trigger that makes the
database itself refuse to insert one linked value (key `REFUSED_KEY`), as a lost connection or
a full disk would, after every check before the write has passed. Tests of the store and of the
service use it to prove that a run's values and their links are written all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

REFUSED_KEY = "link-fails"
#: what the database's error says
REFUSED_MESSAGE = "link refused"

_CREATE = {
    "sqlite": [
        "CREATE TRIGGER refuse_link BEFORE INSERT ON logged_model_metrics "
        f"WHEN NEW.key = '{REFUSED_KEY}' BEGIN SELECT RAISE(ABORT, '{REFUSED_MESSAGE}'); END"
    ],
    "mysql": [
        "CREATE TRIGGER refuse_link BEFORE INSERT ON logged_model_metrics FOR EACH ROW "
        f"BEGIN IF NEW.`key` = '{REFUSED_KEY}' THEN "
        f"SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{REFUSED_MESSAGE}'; END IF; END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_link() RETURNS trigger AS $$ BEGIN "
        f"IF NEW.key = '{REFUSED_KEY}' THEN RAISE EXCEPTION '{REFUSED_MESSAGE}'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_link BEFORE INSERT ON logged_model_metrics "
        "FOR EACH ROW EXECUTE FUNCTION refuse_link()",
    ],
}
_DROP = {
    "sqlite": ["DROP TRIGGER refuse_link"],
    "mysql": ["DROP TRIGGER refuse_link"],
    "postgresql": ["DROP TRIGGER refuse_link ON logged_model_metrics", "DROP FUNCTION refuse_link"],
}


@contextmanager
def links_refused(db_uri: str) -> Iterator[None]:
    """While inside, inserting a linked metric value named REFUSED_KEY fails in the database."""
    engine = sa.create_engine(db_uri, poolclass=sa.pool.NullPool)
    kind = engine.dialect.name
    try:
        with engine.begin() as connection:
            for statement in _CREATE[kind]:
                connection.exec_driver_sql(statement)
        try:
            yield
        finally:
            with engine.begin() as connection:
                for statement in _DROP[kind]:
                    connection.exec_driver_sql(statement)
    finally:
        engine.dispose()
