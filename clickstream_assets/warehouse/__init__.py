"""The warehouse layer: the runner of sql/, the RAW loads, and their assets and checks.

Other modules read the RAW load's position with `loaded_offsets(warehouse, topic)`.
"""

from clickstream_assets.warehouse.pageviews import loaded_offsets
from clickstream_assets.warehouse.runner import bootstrap, ensure_bootstrapped, transaction

__all__ = ["bootstrap", "ensure_bootstrapped", "loaded_offsets", "transaction"]
