"""Mounted at /clients/<slug>/ on the platform host (see tenants.middleware): a platform
admin edits that client's data with the same admin its own client admins use."""

from django.urls import path

from switchboard.admin_sites import client_data_admin

urlpatterns = [
    path("admin/", client_data_admin.urls),
]
