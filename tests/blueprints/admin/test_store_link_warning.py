"""The integration page warns while the store links are the shipped placeholders."""

from __future__ import annotations

from typing import Any

from services.integrations.registry import set_branding
from services.platform.audit import Actor

ADMIN = Actor("admin", "admin@example.com")


def test_the_warning_names_each_placeholder_store_until_it_is_replaced(
    admin_client: Any, integration: Any
) -> None:
    url = f"/admin/integrations/{integration.id}"
    page = admin_client.get(url).text
    assert 'id="store-link-warning"' in page
    assert "(App Store and Google Play)" in page

    set_branding(integration, {"app_store_url": "https://apps.apple.com/app/id1234567890"}, ADMIN)
    page = admin_client.get(url).text
    assert "(Google Play)" in page and "App Store and" not in page

    set_branding(
        integration,
        {
            "app_store_url": "https://apps.apple.com/app/id1234567890",
            "play_store_url": "https://play.google.com/store/apps/details?id=com.acme.auth",
        },
        ADMIN,
    )
    assert 'id="store-link-warning"' not in admin_client.get(url).text
