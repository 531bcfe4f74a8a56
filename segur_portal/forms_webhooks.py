"""The form of a webhook endpoint (« Mon entreprise »)."""

from django import forms

from segur_portal.enums import WebhookEvent
from segur_portal.forms import DsfrFormMixin


class WebhookEndpointForm(DsfrFormMixin, forms.Form):
    url = forms.CharField(
        label="Adresse de réception",
        max_length=500,
        help_text="Une adresse https:// publique de votre entreprise, qui répond 2xx en moins de 5 secondes.",
    )
    description = forms.CharField(label="Description", max_length=100, required=False)
    events = forms.MultipleChoiceField(
        label="Événements",
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
    )
