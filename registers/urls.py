from django.urls import path

from . import views

app_name = "registers"
urlpatterns = [
    path("files/<slug:model_name>/<int:record_id>/<slug:field_name>/", views.register_file, name="file"),
]
