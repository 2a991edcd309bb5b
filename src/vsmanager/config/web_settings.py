"""Settings of the web console page (the page itself is web/; docs/web.md)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class WebSettings(BaseSettings):
    web_demo: bool = Field(
        False,
        description="Set by `vsmanager demo`: the sign-in card then says the keys are the "
        "ones the demo printed. Leave it off on a real install.")
