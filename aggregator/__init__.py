"""aggregator: one combined, region-tagged news feed from many sister parties' RSS/Atom feeds."""

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/socialistworld/aggregator"
USER_AGENT = f"aggregator/{__version__} (+{PROJECT_URL})"
