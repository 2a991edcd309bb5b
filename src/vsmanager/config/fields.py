"""What the settings sections (``*_settings.py``) share: the variables' prefix and the
field types several of them use."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

ENV_PREFIX = "VS_"

PositiveSeconds = Annotated[float, Field(gt=0, le=86_400)]
