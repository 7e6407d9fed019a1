"""May this scale weigh? The registered-scale list and the daily check, as the floor knows them.

``ScaleWatch.check`` applies these to every weight; the status bar and the
Scale check screen show the same answers.
"""

from __future__ import annotations

from datetime import date

from agent.floor import Floor


def scale_refusal(floor: Floor, scale_id: str, today: date) -> str | None:
    """Why weights from ``scale_id`` must not be logged, or None when they may."""
    return scale_registration_refusal(floor, scale_id, today) or scale_check_refusal(floor, scale_id)


def scale_check_refusal(floor: Floor, scale_id: str) -> str | None:
    """The daily zero and check-weight test (``Profile.daily_scale_check``): why the scale
    may not weigh yet, or None. The last check is a local fact, kept across restarts."""
    profile = floor.profile
    if profile is None or not profile.daily_scale_check:
        return None
    last = floor.last_scale_check(scale_id)
    if last is not None and not last.passed:
        return f"Scale {scale_id} failed its check: call a supervisor. {last.why}".strip()
    if last is None or last.day != floor.local_day().isoformat():
        return (f"Scale {scale_id} needs today's zero and test-weight check before it weighs:"
                " tap Scale check.")
    return None


def scale_registration_refusal(floor: Floor, scale_id: str, today: date) -> str | None:
    """The registered/sealed scale list: unlisted or expired scales never weigh."""
    if not floor.has("scales"):
        return ("This kiosk has no list of registered scales yet (never synced), so weights "
                "cannot be checked and are not logged. Connect the kiosk to get the list.")
    scale = floor.scale(scale_id)
    if scale is None:
        return f"Scale {scale_id} is not a registered scale: its weights cannot be logged."
    if scale.expires:
        try:
            expires = date.fromisoformat(scale.expires)
        except ValueError:
            return f"Scale {scale_id} has an unreadable registration expiry ({scale.expires!r})."
        if today > expires:
            return f"Scale {scale_id}'s registration expired on {expires.isoformat()}: not logged."
    return None
