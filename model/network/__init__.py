"""Priors -> network.

The symptom-CSV schema, the reviewed numbers in ``priors/``, their checks, their expansion
into conditional probability tables, and the pgmpy network.

:mod:`~legnumb.network.bayesnet` is the one module that imports pgmpy.
"""
