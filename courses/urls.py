"""Academy portal URLs, mounted under /academy/."""

app_name = "academy"
urlpatterns: list = []
