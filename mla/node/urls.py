app_name = "node"

urlpatterns: list = []
