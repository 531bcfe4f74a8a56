from django import forms
from django.forms import formset_factory

from candidatures.forms.candidature import MultipleFileField
from college.enums import DecisionKind
from segur_portal.forms import DsfrFormMixin


class SignForm(DsfrFormMixin, forms.Form):
    """Signing the convention: the signer proves who they are and consents in words."""

    document_sha256 = forms.CharField(widget=forms.HiddenInput)
    consent = forms.BooleanField(
        label="",  # the consent text, set per company
        error_messages={"required": "Cochez la case pour exprimer votre consentement à signer."},
    )
    password = forms.CharField(
        label="Mot de passe de votre compte",
        help_text="Il confirme que c’est bien vous qui signez.",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Saisissez votre mot de passe pour signer."},
    )

    def __init__(self, *args, consent_text: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consent"].label = consent_text
        # The design system's mixin has already made the bound field, label included.
        self["consent"].label = consent_text


class OpenSeanceForm(DsfrFormMixin, forms.Form):
    present = forms.MultipleChoiceField(
        label="Membres présents",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Cochez au moins un membre présent."},
    )

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["present"].choices = [
            (str(member.pk), member.get_full_name() or member.email) for member in members
        ]


class DecisionForm(DsfrFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label="Décision",
        choices=DecisionKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choisissez l’une des trois décisions."},
    )
    text = forms.CharField(
        label="Texte de la décision",
        help_text="Il est notifié à l’éditeur, dans le portail et par courriel.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Écrivez le texte de la décision : il est notifié à l’éditeur."
        },
    )

    def __init__(self, *args, sans_reserve_refusal: str = "", **kwargs):
        """`sans_reserve_refusal`: why « sans réserve » cannot be chosen (the CNDA
        homologations not obtained), said at the field before anyone tries."""
        super().__init__(*args, **kwargs)
        if sans_reserve_refusal:
            hint = f"Référencement sans réserve impossible. {sans_reserve_refusal}"
            self.fields["kind"].help_text = hint
            # The design system's mixin has already made the bound field.
            self["kind"].help_text = hint


class ReserveForm(DsfrFormMixin, forms.Form):
    """One row of réserve. Its text is required (the label says so); a row left empty
    is no réserve at all, skipped, so the form may offer more rows than needed."""

    text = forms.CharField(
        label="Réserve",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Écrivez le texte de la réserve, ou videz la ligne."},
    )
    exigences = forms.CharField(
        label="Exigences concernées",
        required=False,
        help_text="Identifiants du REM séparés par des virgules, par exemple INS.01, DMP/AIRS.03.",
    )

    def has_changed(self) -> bool:
        # The formset skips an unchanged extra row: here, "unchanged" means left empty,
        # even when it was filled before (emptying a row removes the réserve).
        return any(self[name].value().strip() for name in self.fields if self[name].value())


class BaseReserveFormSet(forms.BaseFormSet):
    def _construct_form(self, i, **kwargs):
        # Every row may be left empty, a recorded one too: emptying it removes the réserve.
        return super()._construct_form(i, empty_permitted=True, **kwargs)


ReserveFormSet = formset_factory(ReserveForm, formset=BaseReserveFormSet, extra=2)


class ReserveAnswerForm(DsfrFormMixin, forms.Form):
    comment = forms.CharField(
        label="Ce qui a été corrigé",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Dites ce qui a été corrigé."},
    )
    fichiers = MultipleFileField(
        label="Preuves de la correction",
        help_text="PDF, PNG, JPEG, MP4, MOV, AVI ou FLV ; 50 Mo au plus par fichier ; plusieurs "
        "fichiers possibles.",
        error_messages={"required": "Joignez au moins un fichier qui prouve la correction."},
    )


class ReturnForm(DsfrFormMixin, forms.Form):
    comment = forms.CharField(
        label="Ce qui manque",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Dites à l’éditeur ce qui manque."},
    )


class ConflictForm(DsfrFormMixin, forms.Form):
    note = forms.CharField(label="Précision (facultative)", required=False, max_length=300)


class ReasonForm(DsfrFormMixin, forms.Form):
    """A decision that must give its reason; the message says why it is needed."""

    reason = forms.CharField(label="Motif", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, required_message: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = required_message
