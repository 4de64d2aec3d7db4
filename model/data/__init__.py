"""Bundled data: the symptom-CSV schema (columns, causes) and the worked examples."""
