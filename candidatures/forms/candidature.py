import re

from django import forms
from django.forms import formset_factory

from candidatures.enums import ServiceSocle
from candidatures.models import Candidature, Editeur
from candidatures.models.candidature import validate_cnda_number
from candidatures.models.editeur import EDITEUR_FIELDS, validate_phone
from candidatures.validators import validate_siret
from segur_portal.forms import DsfrFormMixin

PHONE_FIELDS = ["representant_telephone", "contact_telephone"]


def normalize_phone(value: str) -> str:
    return re.sub(r"[\s.\-()]", "", value or "")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class SubmissionRequired:
    """A field the submission needs, so its label never says « Optionnel », that may stay
    empty while the form is saved in several goes: the page and the submission list what
    is still missing (candidatures.services.eligibility.eligibility_missing)."""

    def __init__(self, *args, **kwargs):
        kwargs["required"] = True
        super().__init__(*args, **kwargs)

    def validate(self, value):
        if value in self.empty_values:
            return
        super().validate(value)


class SubmissionRequiredCharField(SubmissionRequired, forms.CharField):
    pass


class SubmissionRequiredFileField(SubmissionRequired, forms.FileField):
    pass


class ProfilsField(forms.ModelMultipleChoiceField):
    """The profiles: « Général » is always among them (added by the service), so the field
    is required and an empty choice means « Général » alone."""

    def clean(self, value):
        if not value:
            return self.queryset.none()
        return super().clean(value)


# A document chosen in an earlier post of the form, already stored: its hidden field
# names it, so a form error never asks for the file again.
RECEIVED_SUFFIX = "_recu"


def received_field():
    return forms.UUIDField(required=False, widget=forms.HiddenInput)


class CguAcceptForm(DsfrFormMixin, forms.Form):
    accept = forms.BooleanField(
        label="J’ai lu les conditions générales d’utilisation du référencement et je les accepte "
        "au nom de mon entreprise.",
        error_messages={"required": "Cochez la case pour accepter les CGU."},
    )


class EditeurForm(DsfrFormMixin, forms.ModelForm):
    class Meta:
        model = Editeur
        fields = ["siret", *EDITEUR_FIELDS]
        widgets = {
            "representant_telephone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "contact_telephone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        }
        help_texts = {
            "siret": "14 chiffres, sans espace. Il identifie votre entreprise pour tout le "
            "référencement.",
            "representant_telephone": "Par exemple 01 23 45 67 89 ou +33 1 23 45 67 89.",
        }

    def __init__(self, *args, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        for name in EDITEUR_FIELDS:
            self.fields[name].required = True
        for name in PHONE_FIELDS:
            # Checked once spaces and dots are gone, in clean_<field>.
            self.fields[name].validators = []
        if creating:
            # People copy the SIRET with its spaces: "552 100 554 00013".
            self.fields["siret"].max_length = 20
            self.fields["siret"].validators = []
            self.fields["siret"].widget.attrs["maxlength"] = "20"
        else:
            del self.fields["siret"]

    def clean_siret(self):
        siret = re.sub(r"\s", "", self.cleaned_data["siret"])
        validate_siret(siret)
        return siret

    def _clean_phone(self, name: str) -> str:
        value = normalize_phone(self.cleaned_data[name])
        validate_phone(value)
        return value

    def clean_representant_telephone(self):
        return self._clean_phone("representant_telephone")

    def clean_contact_telephone(self):
        return self._clean_phone("contact_telephone")

    def _post_clean(self):
        # The services validate and save; uniqueness of the SIRET is theirs to check.
        pass


class CandidatureAdminForm(DsfrFormMixin, forms.Form):
    nom_commercial = forms.CharField(label="Dénomination commerciale", max_length=200)
    numero_referencement_v1 = forms.CharField(
        label="Numéro de référencement vague 1",
        max_length=60,
        required=False,
        help_text="Seulement si cette solution a été référencée en vague 1.",
    )
    version_technique = forms.CharField(
        label="Numéro de version technique",
        max_length=100,
        help_text="L’identifiant unique de la version candidate, visible dans son interface ; "
        "il change à chaque modification du code, même un correctif.",
    )
    date_depot_preuves_prevue = forms.DateField(
        label="Date prévisionnelle du dépôt du dossier de preuves complet",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class CandidatureCreateForm(CandidatureAdminForm):
    campagne = forms.ModelChoiceField(
        label="DSR",
        queryset=None,
        empty_label="Choisissez le DSR de la candidature",
        help_text="Seuls les DSR dont le guichet est ouvert sont proposés.",
    )
    field_order = ["campagne"]

    def __init__(self, *args, campagnes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campagne"].queryset = campagnes
        self.fields["campagne"].label_from_instance = lambda c: f"{c.dsr.code} — {c.dsr.title}"
        self.fields["campagne"].widget.attrs["class"] = "fr-select"


class EligibilityForm(DsfrFormMixin, forms.Form):
    nie = SubmissionRequiredCharField(
        label="NIE — numéro d’identification éditeur délivré par le CNDA",
        max_length=50,
        validators=[validate_cnda_number],
    )
    nil = SubmissionRequiredCharField(
        label="NIL — numéro d’identification logiciel délivré par le CNDA",
        max_length=50,
        validators=[validate_cnda_number],
    )
    cnda_depot = SubmissionRequiredFileField(
        label="Attestation de dépôt de la demande de labellisation CNDA",
        help_text="PDF, PNG ou JPEG ; 10 Mo au plus.",
    )
    cnda_depot_recu = received_field()
    lettre_engagement = SubmissionRequiredFileField(
        label="Lettre d’engagement signée sur les fonctionnalités minimales du DSR",
        help_text="PDF ; 10 Mo au plus.",
    )
    lettre_engagement_recu = received_field()
    profils = ProfilsField(
        label="Profils",
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        help_text="Le profil « Général » est obligatoire. Le choix des profils devient définitif à "
        "la soumission du formulaire : tout changement demandera une nouvelle candidature.",
    )
    groupement = forms.BooleanField(
        label="Je représente un groupement d’éditeurs (chef de file)", required=False
    )
    distribue = forms.BooleanField(
        label="Le logiciel est commercialisé via des distributeurs mandatés", required=False
    )
    v1_sans_engagement_compatibilite = forms.BooleanField(
        label="La version candidate ne s’engage pas sur la compatibilité ascendante (art. 9 de la "
        "convention de référencement)",
        required=False,
    )
    v1_audit_non_conformite = forms.BooleanField(
        label="Un audit de non-conformité est en cours et ses défauts ne sont pas résolus",
        required=False,
    )
    v1_defaut_non_resolu = forms.BooleanField(
        label="Le logiciel fait l’objet d’un signalement de défaut non résolu", required=False
    )
    v1_dereferencement_en_cours = forms.BooleanField(
        label="Le logiciel fait l’objet d’une procédure de déréférencement en cours", required=False
    )

    V1_FIELDS = [
        "v1_sans_engagement_compatibilite",
        "v1_audit_non_conformite",
        "v1_defaut_non_resolu",
        "v1_dereferencement_en_cours",
    ]

    def __init__(self, *args, candidature: Candidature, profiles_frozen: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["profils"].queryset = candidature.dsr.profils.all()
        if profiles_frozen:
            self.fields["profils"].disabled = True
        if not candidature.is_v1_software:
            for name in self.V1_FIELDS:
                del self.fields[name]


class ComposantForm(DsfrFormMixin, forms.Form):
    editeur_nom = forms.CharField(label="Éditeur du composant", max_length=200)
    nom_commercial = forms.CharField(label="Dénomination commerciale", max_length=200)
    version = forms.CharField(label="Version", max_length=100)
    nil = forms.CharField(label="NIL", max_length=50, validators=[validate_cnda_number])
    service_socle = forms.ChoiceField(label="Service socle concerné", choices=ServiceSocle.choices)


class MembreForm(DsfrFormMixin, forms.Form):
    raison_sociale = forms.CharField(label="Raison sociale du membre", max_length=255)
    siret = forms.CharField(label="SIRET", max_length=20, validators=[])
    mandat = SubmissionRequiredFileField(
        label="Mandat donné au chef de file", help_text="PDF ; 10 Mo au plus."
    )
    mandat_recu = received_field()

    def clean_siret(self):
        siret = re.sub(r"\s", "", self.cleaned_data["siret"])
        validate_siret(siret)
        return siret


class DistributeurForm(DsfrFormMixin, forms.Form):
    raison_sociale = forms.CharField(label="Raison sociale du distributeur", max_length=255)
    siret = forms.CharField(label="SIRET", max_length=20)
    mandat_signe_le = forms.DateField(
        label="Mandat signé le", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    mandat_fin_le = forms.DateField(
        label="Fin du mandat le", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean_siret(self):
        siret = re.sub(r"\s", "", self.cleaned_data["siret"])
        validate_siret(siret)
        return siret

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("mandat_signe_le"), cleaned.get("mandat_fin_le")
        if start and end and end <= start:
            self.add_error(
                "mandat_fin_le", "La fin du mandat doit être postérieure à sa signature."
            )
        return cleaned


ComposantFormSet = formset_factory(ComposantForm, extra=0, can_delete=True)
MembreFormSet = formset_factory(MembreForm, extra=0, can_delete=True)
DistributeurFormSet = formset_factory(DistributeurForm, extra=0, can_delete=True)


class ParcUploadForm(DsfrFormMixin, forms.Form):
    file = forms.FileField(
        label="Liste des versions du parc client",
        help_text="Tableur .xlsx ou .csv selon le modèle ; 5 Mo au plus. Elle est publiée sur le "
        "site dès sa réception.",
    )


class ReasonForm(DsfrFormMixin, forms.Form):
    reason = forms.CharField(label="Motif", widget=forms.Textarea(attrs={"rows": 3}))


class RemMoveForm(DsfrFormMixin, forms.Form):
    reason = forms.CharField(
        label="Motif du changement de version",
        help_text="L’éditeur le lit dans l’historique de sa candidature et dans la notification.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Indiquez pourquoi la candidature change de version."},
    )
