"""The admin site of Aisle: the site class (``site``), the app list grouped by workflow
(``groups``) and the home dashboard's tiles (``dashboard``).

Installed through ``platform_core.apps.AisleAdminConfig`` (``AdminConfig.default_site``), so
``django.contrib.admin.site`` *is* this site and every registration, ours and third-party, lands
on it unchanged.
"""
