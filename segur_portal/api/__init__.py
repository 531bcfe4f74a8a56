"""The editors' REST API (docs/API.md), mounted at /api/v1/ by segur_portal.api.urls."""
