"""xladdin: A-share fund-flow research toolkit for Excel."""
__version__ = "0.1.0"
