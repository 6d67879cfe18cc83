"""LoggedModels in the store (SQLite and MariaDB): create, get, finalize, params, tags, metrics
linked by model_id, delete, and search with MLflow's filter language, order and pages."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest
from refused_model_link import REFUSED_KEY, REFUSED_MESSAGE, links_refused

from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound
from tracking_service.domain import Param, RunTag
from tracking_service.logged_model_domain import LoggedModelDatasetFilter, LoggedModelOrder
from tracking_service.store.sql_store import SqlTrackingStore


def linked_metric(model_id: str, key: str, value: float, step: int = 0, **extra: str) -> pb.Metric:
    return pb.Metric(key=key, value=value, timestamp=1000 + step, step=step, model_id=model_id,
                     **extra)  # fmt: skip


def test_created_model_is_pending_with_id_location_params_and_tags(
    store: SqlTrackingStore, experiment_id: str, run_id: str
) -> None:
    model = store.create_logged_model(
        experiment_id,
        name="model",
        model_type="sklearn",
        source_run_id=run_id,
        params=[Param("alpha", "0.5")],
        tags=[RunTag("team", "ml")],
    )
    assert re.fullmatch(r"m-[0-9a-f]{32}", model.model_id)
    assert model.status == "PENDING" and model.source_run_id == run_id
    assert model.artifact_location.endswith(f"/{experiment_id}/models/{model.model_id}/artifacts")
    assert model.params == {"alpha": "0.5"} and model.tags == {"team": "ml"}
    assert store.get_logged_model(model.model_id) == model


def test_model_without_name_gets_a_generated_one(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    assert store.create_logged_model(experiment_id).name


def test_finalize_sets_ready_and_refuses_pending(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    model = store.create_logged_model(experiment_id, name="m")
    with pytest.raises(InvalidArgument) as error:
        store.finalize_logged_model(model.model_id, "PENDING")
    assert error.value.field == "status"
    ready = store.finalize_logged_model(model.model_id, "READY")
    assert ready.status == "READY"
    assert ready.last_updated_timestamp_ms >= model.last_updated_timestamp_ms


def test_unknown_and_malformed_model_ids(store: SqlTrackingStore) -> None:
    with pytest.raises(NotFound):
        store.get_logged_model("m-" + "0" * 32)
    with pytest.raises(InvalidArgument) as error:
        store.get_logged_model("m-XYZ")
    assert error.value.field == "model_id"


def test_source_run_must_exist_and_share_the_experiment(
    store: SqlTrackingStore, experiment_id: str, run_id: str, unique: Callable[[str], str]
) -> None:
    with pytest.raises(NotFound) as missing:
        store.create_logged_model(experiment_id, source_run_id="f" * 32)
    assert missing.value.field == "source_run_id"
    other = store.create_experiment(unique("other"))
    with pytest.raises(InvalidArgument) as elsewhere:
        store.create_logged_model(other, source_run_id=run_id)
    assert elsewhere.value.field == "source_run_id"


def test_deleted_experiment_takes_no_models(
    store: SqlTrackingStore, unique: Callable[[str], str]
) -> None:
    experiment = store.create_experiment(unique("gone"))
    store.delete_experiment(experiment)
    with pytest.raises(FailedPrecondition):
        store.create_logged_model(experiment)


def test_params_are_immutable_and_tags_overwrite_and_delete(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    model_id = store.create_logged_model(experiment_id, params=[Param("a", "1")]).model_id
    store.log_logged_model_params(model_id, [Param("a", "1"), Param("b", "2")])
    with pytest.raises(InvalidArgument) as error:
        store.log_logged_model_params(model_id, [Param("a", "9")])
    assert error.value.field == "params[0].value"
    store.set_logged_model_tags(model_id, [RunTag("t", "1")])
    store.set_logged_model_tags(model_id, [RunTag("t", "2"), RunTag("u", "3")])
    store.delete_logged_model_tag(model_id, "u")
    with pytest.raises(NotFound) as missing:
        store.delete_logged_model_tag(model_id, "u")
    assert missing.value.field == "tag_key"
    model = store.get_logged_model(model_id)
    assert model.params == {"a": "1", "b": "2"} and model.tags == {"t": "2"}


def test_metrics_logged_with_model_id_are_the_models_latest_per_key_and_dataset(
    store: SqlTrackingStore, experiment_id: str, run_id: str
) -> None:
    model_id = store.create_logged_model(experiment_id, source_run_id=run_id).model_id
    store.log_batch(
        run_id,
        [
            linked_metric(model_id, "rmse", 0.9, step=0),
            linked_metric(model_id, "rmse", 0.7, step=1),
            linked_metric(model_id, "rmse", 0.8, step=0, dataset_name="test", dataset_digest="d1"),
            linked_metric(model_id, "nan", math.nan),
        ],
    )
    store.log_batch(run_id, [linked_metric(model_id, "rmse", 0.7, step=1)])  # again
    metrics = {(m.key, m.dataset_name): m for m in store.get_logged_model(model_id).metrics}
    assert set(metrics) == {("rmse", ""), ("rmse", "test"), ("nan", "")}
    assert metrics[("rmse", "")].value == 0.7 and metrics[("rmse", "")].step == 1
    assert metrics[("rmse", "")].run_id == run_id
    assert metrics[("rmse", "test")].dataset_digest == "d1"
    assert math.isnan(metrics[("nan", "")].value)
    # ... and they are the run's metrics too, as MLflow logs them
    run_metrics = {m.key: m.value for m in store.get_run(run_id).metrics}
    assert run_metrics["rmse"] == 0.7 and math.isnan(run_metrics["nan"])


def test_metric_for_a_model_that_does_not_exist_is_not_found_and_writes_nothing(
    store: SqlTrackingStore, run_id: str
) -> None:
    with pytest.raises(NotFound) as error:
        store.log_batch(
            run_id,
            [
                pb.Metric(key="plain", value=1.0, timestamp=1),
                linked_metric("m-" + "a" * 32, "x", 1.0),
            ],
            params=[Param("p", "1")],
        )
    assert error.value.field == "metrics.model_id"
    run = store.get_run(run_id)
    assert list(run.metrics) == [] and run.params == {}


def test_malformed_link_is_refused_before_anything_is_written(
    store: SqlTrackingStore, run_id: str
) -> None:
    with pytest.raises(InvalidArgument) as error:
        store.log_batch(
            run_id,
            [pb.Metric(key="plain", value=1.0, timestamp=1), linked_metric("m-bad", "x", 1.0)],
        )
    assert error.value.field == "metrics[1].model_id"
    assert list(store.get_run(run_id).metrics) == []


def test_a_link_that_fails_to_be_written_leaves_none_of_the_batch(
    store: SqlTrackingStore, db_uri: str, experiment_id: str, run_id: str
) -> None:
    """The run's values and their links to LoggedModels are one transaction: when writing a
    link fails, the run's values of that batch are not written either."""
    model_id = store.create_logged_model(experiment_id, source_run_id=run_id).model_id
    with links_refused(db_uri), pytest.raises(Exception, match=REFUSED_MESSAGE):
        store.log_batch(
            run_id,
            [
                pb.Metric(key="plain", value=1.0, timestamp=1),
                linked_metric(model_id, "linked", 2.0),
                linked_metric(model_id, REFUSED_KEY, 3.0),
            ],
            params=[Param("p", "1")],
            tags=[RunTag("t", "1")],
        )
    run = store.get_run(run_id)
    assert list(run.metrics) == [] and run.params == {} and "t" not in run.tags
    assert store.get_metric_history(run_id, "plain").items == []
    assert store.get_logged_model(model_id).metrics == []
    # The same batch without the refused value is written whole: run values and links.
    store.log_batch(run_id, [pb.Metric(key="plain", value=1.0, timestamp=1),
                             linked_metric(model_id, "linked", 2.0)])  # fmt: skip
    assert {m.key for m in store.get_run(run_id).metrics} == {"plain", "linked"}
    assert [m.key for m in store.get_logged_model(model_id).metrics] == ["linked"]


def test_deleted_model_is_gone_unless_allowed(store: SqlTrackingStore, experiment_id: str) -> None:
    model_id = store.create_logged_model(experiment_id).model_id
    store.delete_logged_model(model_id)
    with pytest.raises(NotFound):
        store.get_logged_model(model_id)
    assert store.get_logged_model(model_id, allow_deleted=True).lifecycle_stage == "deleted"
    with pytest.raises(NotFound):
        store.set_logged_model_tags(model_id, [RunTag("a", "b")])
    assert store.search_logged_models([experiment_id]).items == []


@pytest.fixture
def scored(store: SqlTrackingStore, experiment_id: str, run_id: str) -> dict[str, str]:
    """Five models of one experiment: name → id, with metric `acc`, param `depth`, tag `kind`."""
    ids = {}
    for index, acc in enumerate([0.5, 0.9, 0.1, 0.7, math.nan]):
        model = store.create_logged_model(
            experiment_id,
            name=f"m{index}",
            params=[Param("depth", str(index))],
            tags=[RunTag("kind", "tree" if index % 2 else "linear")],
        )
        store.log_batch(run_id, [linked_metric(model.model_id, "acc", acc)])
        ids[model.name] = model.model_id
    return ids


def names(page: object) -> list[str]:
    return [model.name for model in page.items]  # type: ignore[attr-defined]


def test_search_filters_on_metrics_params_tags_and_attributes(
    store: SqlTrackingStore, experiment_id: str, scored: dict[str, str]
) -> None:
    def found(text: str) -> set[str]:
        return set(names(store.search_logged_models([experiment_id], text)))

    assert found("metrics.acc > 0.6") == {"m1", "m3"}
    assert found("params.depth IN ('0', '2')") == {"m0", "m2"}
    assert found("tags.kind = 'tree' AND metrics.acc < 0.8") == {"m3"}
    assert found("name LIKE 'm%' AND status = 'PENDING'") == set(scored)
    assert found(f"attributes.model_id = '{scored['m4']}'") == {"m4"}


def test_search_orders_by_metric_with_nan_and_missing_last_and_pages(
    store: SqlTrackingStore, experiment_id: str, scored: dict[str, str]
) -> None:
    order = [LoggedModelOrder("metrics.acc", ascending=False)]
    full = names(store.search_logged_models([experiment_id], order_by=order))
    assert full == ["m1", "m3", "m0", "m2", "m4"]
    pages, token = [], ""
    while True:
        page = store.search_logged_models(
            [experiment_id], order_by=order, max_results=2, page_token=token
        )
        pages.append(names(page))
        token = page.next_page_token
        if not token:
            break
    assert pages == [["m1", "m3"], ["m0", "m2"], ["m4"]]


def test_search_orders_by_param_and_name(
    store: SqlTrackingStore, experiment_id: str, scored: dict[str, str]
) -> None:
    by_param = [LoggedModelOrder("params.depth", ascending=True)]
    assert names(store.search_logged_models([experiment_id], order_by=by_param)) == [
        "m0", "m1", "m2", "m3", "m4"
    ]  # fmt: skip
    by_name = [LoggedModelOrder("name", ascending=False)]
    assert names(store.search_logged_models([experiment_id], order_by=by_name))[0] == "m4"


def test_search_without_experiments_covers_every_active_one(
    store: SqlTrackingStore, experiment_id: str, scored: dict[str, str]
) -> None:
    every = {model.model_id for model in store.search_logged_models([], max_results=1000).items}
    assert set(scored.values()) <= every


@pytest.mark.parametrize(
    ("text", "expected"),
    [("colour = 'red'", "unknown logged model attribute"), ("metrics.acc = 'x'", "number")],
)
def test_bad_search_filter_is_invalid_argument(
    store: SqlTrackingStore, experiment_id: str, text: str, expected: str
) -> None:
    with pytest.raises(InvalidArgument) as error:
        store.search_logged_models([experiment_id], text)
    assert expected in error.value.message and error.value.field == "filter"


def test_bad_order_field_is_invalid_argument(store: SqlTrackingStore, experiment_id: str) -> None:
    with pytest.raises(InvalidArgument) as error:
        store.search_logged_models([experiment_id], order_by=[LoggedModelOrder("colour")])
    assert error.value.field == "order_by[0].field_name"


def test_page_token_of_another_query_is_invalid_argument(
    store: SqlTrackingStore, experiment_id: str, scored: dict[str, str]
) -> None:
    token = store.search_logged_models([experiment_id], max_results=1).next_page_token
    with pytest.raises(InvalidArgument) as error:
        store.search_logged_models([experiment_id], "name = 'm1'", page_token=token)
    assert error.value.field == "page_token"


def test_search_with_datasets_considers_only_their_metric_values(
    store: SqlTrackingStore, unique: Callable[[str], str]
) -> None:
    experiment = store.create_experiment(unique("datasets"))
    run_id = store.create_run(experiment, start_time=1000).info.run_id
    values = {  # model → (acc, dataset name, digest) values linked to it
        "a": [(0.9, "train", "d1"), (0.2, "test", "d2")],
        "b": [(0.3, "train", "d1"), (0.8, "test", "d2")],
        "c": [(0.7, "", "")],
        "d": [],
    }
    ids = {}
    for name, linked in values.items():
        model_id = store.create_logged_model(experiment, name=name).model_id
        metrics = [linked_metric(model_id, "acc", v, dataset_name=n, dataset_digest=g)
                   for v, n, g in linked]  # fmt: skip
        if metrics:
            store.log_batch(run_id, metrics)
        ids[name] = model_id

    def found(text: str, *datasets: tuple[str, str]) -> set[str]:
        filters = [LoggedModelDatasetFilter(n, g) for n, g in datasets]
        return set(names(store.search_logged_models([experiment], text, datasets=filters)))

    assert found("metrics.acc > 0.6") == {"a", "b", "c"}
    assert found("metrics.acc > 0.6", ("test", "")) == {"b"}
    assert found("metrics.acc > 0.6", ("train", "d1")) == {"a"}
    assert found("metrics.acc > 0.6", ("train", "d1"), ("test", "d2")) == {"a", "b"}
    assert found("metrics.acc > 0.6", ("test", "other digest")) == set()
    assert found("", ("train", "")) == {"a", "b"}  # no metric filter: a value on the dataset
    assert found("name != 'a'", ("test", "d2")) == {"b"}
    assert found("") == {"a", "b", "c", "d"}

    with pytest.raises(InvalidArgument) as unnamed:
        store.search_logged_models([experiment], datasets=[LoggedModelDatasetFilter("", "d1")])
    assert unnamed.value.field == "datasets[0].dataset_name"
    # A page token belongs to its datasets too.
    first = store.search_logged_models(
        [experiment], max_results=1, datasets=[LoggedModelDatasetFilter("train")]
    )
    assert first.next_page_token
    with pytest.raises(InvalidArgument):
        store.search_logged_models([experiment], max_results=1, page_token=first.next_page_token)
    second = store.search_logged_models(
        [experiment],
        max_results=1,
        page_token=first.next_page_token,
        datasets=[LoggedModelDatasetFilter("train")],
    )
    assert {*names(first), *names(second)} == {"a", "b"} and not second.next_page_token
