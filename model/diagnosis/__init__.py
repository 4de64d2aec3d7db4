"""Posteriors -> a diagnosis: the model object, evidence normalisation, triage and red flags."""
