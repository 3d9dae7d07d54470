"""The scan pipeline: options, the run loop, the web and network-enrichment stages, shards.

The package is named ``pipeline`` rather than ``scan`` so that ``from sovaudit import scan`` (the
library entry point, a function) is never shadowed by a subpackage of the same name.
"""
