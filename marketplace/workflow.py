"""State machines: transition tables keyed by event, and one `fire()` that takes an edge.

A model lists its edges: `"county_return": edge({SUBMITTED}, RETURNED, "organisation.county_review",
reason=True)`. One lookup answers "may this actor do this now" (`obj.may(event, user)`), so
templates ask the table instead of comparing status strings.

Taking an edge is a compare-and-set: `UPDATE … SET status = :new WHERE id = :id AND status =
:expected`, with the row count checked. Of N concurrent decisions on the same row exactly one
lands; the others are told the matter was already decided, and their transaction (with any
certificate or stock change it made) is rolled back.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, update

from marketplace.audit.models import record
from marketplace.errors import Invalid, InvalidTransition
from marketplace.extensions import db
from marketplace.permissions import authorize, can


@dataclass(frozen=True)
class Edge:
    source: frozenset
    target: str
    rule: str
    reason_required: bool = False
    label: Any = ""


def edge(source, target, rule: str, *, reason: bool = False, label: Any = "") -> Edge:
    return Edge(frozenset(source), target, rule, reason, label)


class Stateful:
    """Mixin for models whose `status` column follows an EDGES table over a StrEnum STATUS."""

    STATUS: ClassVar[type]
    EDGES: ClassVar[dict[str, Edge]]
    if TYPE_CHECKING:  # the model's own Mapped column; declared here for the type checker only
        status: Any
    #: Prefix of the audit actions this model's events record ("application.county_pass").
    AUDIT_NAME: ClassVar[str] = ""

    @classmethod
    def status_label(cls, value) -> str:
        return str(cls.STATUS(value).label)

    @property
    def status_text(self) -> str:
        return self.status_label(self.status)

    def allows(self, event: str) -> bool:
        """The edge starts from the current state (who takes it is another question)."""
        return self.status in self.EDGES[event].source

    def may(self, event: str, user) -> bool:
        """This user may take this edge now: what templates ask before showing a button."""
        return self.allows(event) and can(self.EDGES[event].rule, user, self)

    def reachable(self, target) -> bool:
        return any(e.target == target and self.status in e.source for e in self.EDGES.values())


def compare_and_set(obj, expected, new, **values) -> None:
    """Move the row from `expected` to `new` only if nobody moved it first; else refuse."""
    model = type(obj)
    result = cast(CursorResult, db.session.execute(
        update(model)
        .where(model.id == obj.id, model.status == expected)
        .values(status=new, **values)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        raise InvalidTransition(_("该事项已被他人处理，当前状态已变化。请刷新页面查看最新状态。"))
    # The row is ours now (locked until commit). Setting the attributes through the ORM as
    # well keeps the object current and lets flush listeners (search sync) see the change.
    obj.status = new
    for key, value in values.items():
        setattr(obj, key, value)


def fire(obj, event: str, actor, *, reason: str = "", check_rule: bool = True):
    """Take the edge `event` from obj's current state, as `actor`, and record who, when, why.

    Refuses before changing anything: an actor the edge's rule does not allow, a state the
    edge does not start from, a missing reason, or a row someone else moved meanwhile.
    """
    edge_ = type(obj).EDGES[event]
    if check_rule:
        authorize(edge_.rule, actor, obj)
    old = obj.status
    if old not in edge_.source:
        raise InvalidTransition(
            _("当前状态“%(state)s”下不能执行此操作。", state=type(obj).status_label(old))
        )
    reason = (reason or "").strip()
    if edge_.reason_required and not reason:
        raise Invalid(_("请填写理由。"), {"reason": [_("请填写理由。")]})
    compare_and_set(obj, old, edge_.target)
    record(actor, f"{type(obj).AUDIT_NAME}.{event}", obj, reason=reason, from_status=old,
           to_status=edge_.target)
    return edge_.target
