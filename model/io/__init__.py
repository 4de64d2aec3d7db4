"""The symptom CSV: the streaming reader and writer, batch scoring and Dask scoring."""
