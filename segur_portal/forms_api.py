"""The forms of the API pages: a personal token (« Mon compte »)."""

from django import forms

from segur_portal.api_tokens import TOKEN_DURATIONS
from segur_portal.enums import ApiTokenScope
from segur_portal.forms import DsfrFormMixin


class ApiTokenForm(DsfrFormMixin, forms.Form):
    name = forms.CharField(
        label="Nom du jeton",
        max_length=100,
        help_text="Pour le reconnaître : l’outil ou la chaîne d’intégration qui l’utilise.",
    )
    scope = forms.ChoiceField(
        label="Portée",
        choices=ApiTokenScope.choices,
        initial=ApiTokenScope.LECTURE,
        widget=forms.RadioSelect,
        help_text="Un jeton en lecture seule suit les candidatures sans rien modifier.",
    )
    days = forms.TypedChoiceField(
        label="Durée de validité",
        choices=list(TOKEN_DURATIONS.items()),
        coerce=int,
        initial=90,
        help_text="Un an au plus ; le jeton peut être révoqué à tout moment.",
    )
