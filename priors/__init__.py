"""The shipped priors, installed as ``legnumb.shipped_priors`` so they travel with the package.

This folder is data, not code: see ``README.md`` beside this file.
"""
