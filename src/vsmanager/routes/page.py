"""What the web page needs before anyone signs in, without a key: whether it is the demo
(the sign-in card then points at the keys the demo printed)."""

from __future__ import annotations

from fastapi import APIRouter

from vsmanager.routes.deps import SettingsDep

router = APIRouter(tags=["web console"])


@router.get("/page-config")
async def page_config(settings: SettingsDep) -> dict[str, object]:
    return {"demo": settings.web_demo}
