from django.urls import path

from platform_core.api.views import WhoAmIView

urlpatterns = [path("whoami", WhoAmIView.as_view(), name="api-whoami")]
