"""Compliance pages of the client portal, mounted at /compliance/ on client hosts."""

from django.urls import path
from django.views.generic import RedirectView

from compliance import views

app_name = "compliance"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="compliance:dnc"), name="index"),
    path("dnc/", views.dnc_list, name="dnc"),
    path("dnc/remove/", views.dnc_remove, name="dnc_remove"),
    path("dnc/import/", views.dnc_import, name="dnc_import"),
    path("dnc/imports/<int:pk>/", views.dnc_import_detail, name="dnc_import_detail"),
    path("dnc/imports/<int:pk>/progress", views.dnc_import_progress, name="dnc_import_progress"),
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/export.csv", views.ledger_export, name="ledger_export"),
]
