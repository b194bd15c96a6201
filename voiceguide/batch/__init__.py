"""Several builds at once: on this machine's cores (``local.py``, ``--jobs``) or on a
Dask cluster's workers (``cluster.py``, ``--scheduler``, the optional extra ``dask``)."""
