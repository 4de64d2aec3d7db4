"""The shipped priors of legnumb, installed as ``model.shipped_priors`` so that they travel with the package.

This folder is data, not code: see ``README.md`` beside this file.
"""
