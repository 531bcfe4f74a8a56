from django import forms

from candidatures.forms.candidature import MultipleFileField
from segur_portal.forms import DsfrFormMixin

ATTACHMENTS_HELP = (
    "PDF, image, vidéo ou texte ; 50 Mo au plus par fichier, 10 fichiers au plus. Chaque "
    "fichier est vérifié comme une preuve."
)


class MessageForm(DsfrFormMixin, forms.Form):
    """A message in an exchange with the ANS (sollicitation or support), with its
    attachments. The field names are the same in every exchange form."""

    text = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Écrivez votre message."},
    )
    files = MultipleFileField(label="Pièces jointes", required=False, help_text=ATTACHMENTS_HELP)

    def __init__(self, *args, scope: str = "", **kwargs):
        # Several forms share a page: distinct ids keep each label on its own field.
        if scope:
            kwargs.setdefault("auto_id", f"id_{scope}_%s")
        super().__init__(*args, **kwargs)


class SupportDemandeForm(MessageForm):
    subject = forms.CharField(
        label="Objet",
        max_length=200,
        help_text="En quelques mots, par exemple « Format attendu de la liste du parc client ».",
        error_messages={"required": "Donnez un objet à votre question."},
    )
    text = forms.CharField(
        label="Votre question",
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Écrivez votre question."},
    )
    field_order = ["subject", "text", "files"]
