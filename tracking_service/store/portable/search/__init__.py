"""MLflow's search-filter language: tokenizer → recursive-descent parser → AST → SQLAlchemy.

`parse_filter("metrics.rmse < 0.5 and params.alpha = '0.1'")` gives a tuple of `Condition`s;
`run_query` and `experiment_query` check them against what each listing supports and turn them
into SQL. Every error is an `InvalidArgument` that says where the text broke and what was expected.
"""

from tracking_service.store.portable.search.ast import Condition, Identifier, OrderTerm
from tracking_service.store.portable.search.parser import parse_filter, parse_order_by

__all__ = ["Condition", "Identifier", "OrderTerm", "parse_filter", "parse_order_by"]
