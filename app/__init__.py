"""pharmacheck: an online pharmacy legitimacy checker."""

__version__ = "0.1.0"
