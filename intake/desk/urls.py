"""The desk's addresses: documents by random id only, never by anything a customer wrote."""

from __future__ import annotations

from django.contrib.auth import views as auth
from django.urls import include, path, re_path
from django.views.static import serve

from intake.desk import actions, admin, views
from intake.store.setup import PACKAGE

STATIC = PACKAGE / "desk" / "static"

_desk = [
    path("signin", auth.LoginView.as_view(template_name="desk/signin.html"), name="login"),
    path("signout", auth.LogoutView.as_view(next_page="/signin"), name="logout"),
    path("", views.index, name="index"),
    path("rows", views.rows, name="rows"),
    path("status.json", views.status, name="status"),
    path("upload", views.upload, name="upload"),
    path("documents/<uuid:document_id>", views.document, name="document"),
    path("documents/<uuid:document_id>/act", actions.act, name="act"),
    path("documents/<uuid:document_id>/pages/<int:position>.png", views.page_image, name="page"),
    path("documents/<uuid:document_id>/crops/<slug:name>.png", views.crop_image, name="crop"),
    path("documents/<uuid:document_id>/explain", admin.explain_document, name="explain"),
    path("admin/rules", admin.rules, name="rules"),
    path("admin/audit", admin.audit, name="audit"),
    path("language", views.language, name="language"),
    path("favicon.ico", views.favicon, name="favicon"),
]

urlpatterns = [
    path("", include((_desk, "desk"), namespace="desk")),
    # Vendored CSS and script only (no CDN); nothing personal, so these may be cached.
    re_path(r"^static/(?P<path>desk/[a-z0-9_.-]+)$", serve, {"document_root": STATIC}),
]
