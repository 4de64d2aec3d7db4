"""Network -> posteriors: the exact batch engine (:class:`~legnumb.inference.engine.Engine`)."""
