"""``gepa cache``: inspect or clear the response cache."""

from __future__ import annotations

import click

from gepa.cli.app import cache_dir_option, echo


@click.group()
def cache() -> None:
    """Inspect or clear the response cache."""


@cache.command(name="stats")
@cache_dir_option
def cache_stats(cache_dir: str | None) -> None:
    """Where the cache is, how many responses it holds and its size on disk."""
    from gepa.lm.cache import ResponseCache

    stats = ResponseCache(cache_dir).stats()
    echo(f"{stats['directory']}: {stats['entries']} responses, {stats['bytes'] / 1e6:.1f} MB")


@cache.command(name="clear")
@cache_dir_option
@click.confirmation_option(prompt="Delete every cached response?", help="Do not ask for confirmation.")
def cache_clear(cache_dir: str | None) -> None:
    """Delete every cached response (the next runs pay again); works on a damaged cache too."""
    from gepa.lm.cache import clear_directory

    removed = clear_directory(cache_dir)
    if removed is None:
        echo("removed the damaged cache's database and value files (its responses could not be counted)")
    else:
        echo(f"removed {removed} responses")
