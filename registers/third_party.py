"""Other packages' models in the registry: each declared or exempted, with the reason written
down (the system check in `registers.checks` counts them as it counts ours)."""

from .registry import exempt

exempt(
    "auth.User",
    reason="Staff accounts: managed by the admins, deactivated rather than deleted so that case "
    "histories keep naming who acted. Not a register of data subjects.",
)
exempt("auth.Group", reason="A group's name, not a person's.")
exempt("auth.Permission", reason="A permission's name, not a person's.")
exempt(
    "sessions.Session",
    reason="Staff sessions and the reporter's follow-up session; they expire (SESSION_COOKIE_AGE) and "
    "hold no address of the visitor.",
)
exempt(
    "auditlog.LogEntry",
    reason="Who did what and when; personal fields of every registered model are masked "
    "(cases.audit, registers.audit), and no remote address is kept.",
)
exempt(
    "admin.LogEntry",
    reason="The admin's own history: an object's kind and number (registers' __str__ names no one, "
    "cases go by reference), and which fields changed, never their values.",
)
exempt("axes.AccessAttempt", reason="Counted by username only; no address or user agent is stored.")
exempt("axes.AccessFailureLog", reason="Counted by username only; no address or user agent is stored.")
exempt("axes.AccessLog", reason="Staff log-ins by username; no address or user agent is stored.")
exempt("otp_totp.TOTPDevice", reason="A staff member's second factor and its name.")
exempt("otp_static.StaticDevice", reason="A staff member's backup codes and their name.")
exempt("django_celery_beat.PeriodicTask", reason="Schedules: task names and arguments, no person.")
exempt("django_celery_beat.ClockedSchedule", reason="Schedules, no person.")
exempt("django_celery_beat.SolarSchedule", reason="Schedules, no person.")
exempt("django_celery_beat.IntervalSchedule", reason="Schedules, no person.")
exempt("django_celery_beat.CrontabSchedule", reason="Schedules, no person.")
exempt("django_celery_beat.PeriodicTasks", reason="Schedules, no person.")
