"""What must hold in the shared database whatever requests came before, checked in SQL."""

from __future__ import annotations

import sqlalchemy as sa

#: Each query returns the rows that break a rule; every one must return nothing.
VIOLATIONS = {
    "metrics of a run that does not exist": """
        SELECT m.run_uuid, m.key FROM metrics m
        LEFT JOIN runs r ON r.run_uuid = m.run_uuid WHERE r.run_uuid IS NULL""",
    "latest_metrics of a run that does not exist": """
        SELECT l.run_uuid, l.key FROM latest_metrics l
        LEFT JOIN runs r ON r.run_uuid = l.run_uuid WHERE r.run_uuid IS NULL""",
    "params of a run that does not exist": """
        SELECT p.run_uuid, p.key FROM params p
        LEFT JOIN runs r ON r.run_uuid = p.run_uuid WHERE r.run_uuid IS NULL""",
    "tags of a run that does not exist": """
        SELECT t.run_uuid, t.key FROM tags t
        LEFT JOIN runs r ON r.run_uuid = t.run_uuid WHERE r.run_uuid IS NULL""",
    "runs of an experiment that does not exist": """
        SELECT r.run_uuid FROM runs r
        LEFT JOIN experiments e ON e.experiment_id = r.experiment_id
        WHERE e.experiment_id IS NULL""",
    "experiment tags of an experiment that does not exist": """
        SELECT t.experiment_id, t.key FROM experiment_tags t
        LEFT JOIN experiments e ON e.experiment_id = t.experiment_id
        WHERE e.experiment_id IS NULL""",
    "a metric history without its latest_metrics row": """
        SELECT DISTINCT m.run_uuid, m.key FROM metrics m
        LEFT JOIN latest_metrics l ON l.run_uuid = m.run_uuid AND l.key = m.key
        WHERE l.run_uuid IS NULL""",
    "a latest_metrics row without history": """
        SELECT l.run_uuid, l.key FROM latest_metrics l
        LEFT JOIN metrics m ON m.run_uuid = l.run_uuid AND m.key = l.key
        WHERE m.run_uuid IS NULL""",
    "a latest_metrics row that is not a point of the history": """
        SELECT l.run_uuid, l.key FROM latest_metrics l WHERE NOT EXISTS (
            SELECT 1 FROM metrics m WHERE m.run_uuid = l.run_uuid AND m.key = l.key
            AND m.step = l.step AND m.timestamp = l.timestamp
            AND m.value = l.value AND m.value_kind = l.value_kind)""",
    "a latest_metrics row older than a point of its history": """
        SELECT l.run_uuid, l.key FROM latest_metrics l WHERE EXISTS (
            SELECT 1 FROM metrics m WHERE m.run_uuid = l.run_uuid AND m.key = l.key
            AND (m.step > l.step OR (m.step = l.step AND m.timestamp > l.timestamp)))""",
    "model versions of a registered model that does not exist": """
        SELECT v.model_id, v.version FROM model_versions v
        LEFT JOIN registered_models m ON m.id = v.model_id WHERE m.id IS NULL""",
    "registered model tags of a model that does not exist": """
        SELECT t.model_id, t.key FROM registered_model_tags t
        LEFT JOIN registered_models m ON m.id = t.model_id WHERE m.id IS NULL""",
    "model version tags of a version that does not exist": """
        SELECT t.model_id, t.version, t.key FROM model_version_tags t
        LEFT JOIN model_versions v ON v.model_id = t.model_id AND v.version = t.version
        WHERE v.model_id IS NULL""",
    "aliases pointing at a version that does not exist": """
        SELECT a.model_id, a.alias FROM registered_model_aliases a
        LEFT JOIN model_versions v ON v.model_id = a.model_id AND v.version = a.version
        WHERE v.model_id IS NULL""",
    "a registered model whose next_version is not above its versions": """
        SELECT m.id FROM registered_models m
        JOIN model_versions v ON v.model_id = m.id
        GROUP BY m.id, m.next_version HAVING MAX(v.version) >= m.next_version""",
    "a version number below 1": "SELECT model_id, version FROM model_versions WHERE version < 1",
}


def database_violations(db_uri: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(db_uri)
    try:
        with engine.connect() as conn:
            found = {
                rule: [tuple(row) for row in conn.execute(sa.text(query)).fetchmany(5)]
                for rule, query in VIOLATIONS.items()
            }
    finally:
        engine.dispose()
    return {rule: rows for rule, rows in found.items() if rows}


def check_database_consistent(db_uri: str) -> None:
    violations = database_violations(db_uri)
    assert not violations, f"inconsistent database after fuzzing: {violations}"
