from typing import Any

from django import template

from mla.eevidence.forms import OtherMeansTransmissionForm
from mla.eevidence.models import OtherMeansTransmission
from mla.eevidence.services import may_record_other_means
from mla.instruments.eevidence import E_EVIDENCE_DECLARATIONS

register = template.Library()


@register.inclusion_tag("eevidence/_other_means.html", takes_context=True)
def other_means_panel(context: template.Context) -> dict[str, Any]:
    """The request page's panel of transmissions made by other means (Art. 19(6)), with the
    form to record one for those who act on the copy; nothing for other requests. The
    request pages show it without the requests app knowing of this one."""
    item, user = context["item"], context["user"]
    may_record = may_record_other_means(request=item, user=user)
    recorded = (
        list(OtherMeansTransmission.objects.filter(request=item).order_by("transmitted_at", "id"))
        if may_record or item.declaration_code in E_EVIDENCE_DECLARATIONS
        else []
    )
    return {
        "item": item,
        "csrf_token": context.get("csrf_token"),
        "shown": may_record or bool(recorded),
        "may_record": may_record,
        "recorded": recorded,
        "form": OtherMeansTransmissionForm() if may_record else None,
    }
