from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mla.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from celery.signals import before_task_publish

        from mla.core.heartbeats import on_task_published
        from mla.core.scheduler import embedded_scheduler_start

        # Beat's heartbeat, recorded in beat's process when it sends the heartbeat task.
        before_task_publish.connect(on_task_published, dispatch_uid="core-beat-heartbeat")
        # The embedded default has no beat: runserver runs the schedule itself.
        embedded_scheduler_start()
