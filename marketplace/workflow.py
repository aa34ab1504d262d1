"""State machines: one transition() for every model that has a TRANSITIONS table."""

from flask_babel import gettext as _

from marketplace.audit.models import record
from marketplace.errors import Invalid, InvalidTransition


def transition(obj, new, actor, *, action: str, reason: str = "", reason_required=False):
    """Move `obj.status` to `new` along an allowed edge and append an audit event.

    Raises before touching anything, so a refused action changes no data.
    """
    old = obj.status
    require_status(obj, *[s for s, targets in obj.TRANSITIONS.items() if new in targets])
    reason = (reason or "").strip()
    if reason_required and not reason:
        raise Invalid(_("请填写理由。"), {"reason": [_("请填写理由。")]})
    obj.status = new
    record(actor, action, obj, reason=reason, from_status=old, to_status=new)


def require_status(obj, *allowed) -> None:
    """Refuse an action unless `obj` is in one of the `allowed` states."""
    if obj.status not in allowed:
        raise InvalidTransition(
            _("当前状态“%(state)s”下不能执行此操作。", state=type(obj).status_label(obj.status))
        )


class Stateful:
    """Mixin for models whose `status` column follows a TRANSITIONS table of a StrEnum STATUS."""

    STATUS: type
    TRANSITIONS: dict

    @classmethod
    def status_label(cls, value) -> str:
        return str(cls.STATUS(value).label)

    @property
    def status_text(self) -> str:
        return self.status_label(self.status)

    def can_move_to(self, new) -> bool:
        return new in self.TRANSITIONS.get(self.status, set())
