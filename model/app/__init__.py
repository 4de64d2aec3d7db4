"""Interfaces for people: the self-contained HTML reviewer report and the what-if widgets."""
