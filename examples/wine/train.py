# The data set used in this example is from http://archive.ics.uci.edu/ml/datasets/Wine+Quality
# P. Cortez, A. Cerdeira, F. Almeida, T. Matos and J. Reis.
# Modeling wine preferences by data mining from physicochemical properties. In Decision Support Systems, Elsevier, 47(4):547-553, 2009.
#
# The seed's script, run against mlgrpc: `import mlflow` became `import mlgrpc as mlflow`, the one
# line of code that changed (`import mlflow.sklearn` then resolves to mlgrpc.sklearn). Where things
# are changed too: the tracking URI (env MLGRPC_TRACKING_URI, default the local tracking service)
# and the CSV, read from the copy shipped beside this file instead of the URL.
# Set WINE_REGISTERED_MODEL_NAME to also register the logged model under that name.

import logging
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

import mlgrpc as mlflow

# isort: split
import mlflow.sklearn  # the seed's line, unchanged: resolves to mlgrpc.sklearn after the alias

logging.basicConfig(level=logging.WARN)
logger = logging.getLogger(__name__)

remote_server_tracking_uri = os.environ.get("MLGRPC_TRACKING_URI", "grpc://localhost:50051")
mlflow.set_tracking_uri(remote_server_tracking_uri)
mlflow.set_experiment("AirBnb Tracking")


def eval_metrics(actual, pred):
    rmse = np.sqrt(mean_squared_error(actual, pred))
    mae = mean_absolute_error(actual, pred)
    r2 = r2_score(actual, pred)
    return rmse, mae, r2


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    np.random.seed(40)

    # Read the wine-quality csv file shipped beside this script (no download at run time)
    csv_path = Path(__file__).with_name("winequality-red.csv")
    try:
        data = pd.read_csv(csv_path, sep=";")
    except Exception as e:
        logger.exception("Unable to read the training & test CSV %s. Error: %s", csv_path, e)
        raise

    # Split the data into training and test sets. (0.75, 0.25) split.
    train, test = train_test_split(data)

    # The predicted column is "quality" which is a scalar from [3, 9]
    train_x = train.drop(["quality"], axis=1)
    test_x = test.drop(["quality"], axis=1)
    train_y = train[["quality"]]
    test_y = test[["quality"]]

    alpha = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    l1_ratio = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5

    with mlflow.start_run():
        lr = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42)
        lr.fit(train_x, train_y)

        predicted_qualities = lr.predict(test_x)

        (rmse, mae, r2) = eval_metrics(test_y, predicted_qualities)

        print("Elasticnet model (alpha=%f, l1_ratio=%f):" % (alpha, l1_ratio))
        print("  RMSE: %s" % rmse)
        print("  MAE: %s" % mae)
        print("  R2: %s" % r2)

        mlflow.log_param("alpha", alpha)
        mlflow.log_param("l1_ratio", l1_ratio)
        mlflow.log_metric("rmse", rmse)
        mlflow.log_metric("r2", r2)
        mlflow.log_metric("mae", mae)

        mlflow.sklearn.log_model(
            lr, "model", registered_model_name=os.environ.get("WINE_REGISTERED_MODEL_NAME")
        )
        print("  run_id: %s" % mlflow.active_run().info.run_id)
