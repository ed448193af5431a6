"""The Flask application: REST API, HTML pages, CLI. The only package that imports Flask."""

import os

# Before numpy and scikit-learn load their OpenMP runtime: on 2-core machines two OpenMP threads made
# gradient boosting about 100 times slower (an operator can still set the variable explicitly).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from api.app import create_app

__all__ = ["create_app"]
