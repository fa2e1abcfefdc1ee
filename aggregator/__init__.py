"""aggregator: one combined, region-tagged news feed from many sister parties' RSS/Atom feeds."""

__version__ = "0.1.0"
# The project has no public home of its own yet, so no URL is invented here: a cycle names the
# service it fetches for (the config's base_url) instead, see user_agent_for().
USER_AGENT = f"aggregator/{__version__}"


def user_agent_for(base_url: str) -> str:
    """The User-Agent a cycle sends: the software and the public address of the service running
    it, where a site's owner can see what is done with the feed and who runs it."""
    return f"{USER_AGENT} (+{base_url}; feed aggregator)"
