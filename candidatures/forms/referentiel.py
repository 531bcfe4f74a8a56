from datetime import datetime, time

from django import forms
from django.utils import timezone

from candidatures.enums import Jalon, Perimetre, ProofKind
from candidatures.models import Campagne, Profil, RemVersion
from candidatures.models.referentiel import J2_CLOSING_TIME, J2_TIME_MESSAGE
from segur_portal.forms import DsfrFormMixin

# The hour of each jalon when the administrator gives only its date: J2 closes at
# 14:00 (DSR §4.2); the guichet opens in the morning; the other deadlines end the day.
DEFAULT_JALON_TIMES = {
    Jalon.J1: time(9, 0),
    Jalon.J2: J2_CLOSING_TIME,
    Jalon.J3: time(23, 59),
    Jalon.J4: time(23, 59),
    Jalon.J5: time(23, 59),
    Jalon.J6: time(23, 59),
    Jalon.J7: time(23, 59),
}


class RemImportForm(DsfrFormMixin, forms.Form):
    file = forms.FileField(
        label="Feuille REM",
        help_text="Classeur .xlsx ou fichier .csv (UTF-8 ou Windows-1252, virgule ou "
        "point-virgule), 20 Mo au plus. Les colonnes sont reconnues par leur nom.",
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )
    label = forms.CharField(
        label="Version",
        max_length=100,
        help_text="Comme l’ANS la nomme, par exemple « v1.2 » ou « mise à jour du 26/10 ».",
    )
    published_on = forms.DateField(
        label="Date de publication par l’ANS",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    default_perimetre = forms.ChoiceField(
        label="Périmètre d’une feuille sans onglet « Vague 1 » / « Vague 2 »",
        choices=Perimetre.choices,
        initial=Perimetre.VAGUE_2,
    )
    rem = forms.CharField(
        label="REM à retenir dans un fichier qui en contient plusieurs",
        max_length=20,
        required=False,
        help_text="Valeur de la colonne « REM » (BIO, DB, DPI, LGC, PFI, RIS). "
        "Laissez vide pour un fichier d’un seul REM.",
    )


class ProofKindForm(forms.Form):
    kind = forms.ChoiceField(label="Type de preuve", choices=ProofKind.choices)


class CampagneForm(DsfrFormMixin, forms.Form):
    """The campaign's label and, for each jalon, a date and an optional hour (Paris)."""

    label = forms.CharField(label="Intitulé", max_length=150)

    def __init__(self, *args, instance: Campagne | None = None, **kwargs):
        self.instance = instance
        initial = kwargs.pop("initial", {}) or {}
        if instance is not None:
            initial["label"] = instance.label
            for jalon, moment in instance.jalons():
                local = timezone.localtime(moment)
                initial[f"{jalon.value}_date"] = local.date()
                initial[f"{jalon.value}_time"] = local.time().replace(second=0, microsecond=0)
        super().__init__(*args, initial=initial, **kwargs)
        for jalon in Jalon:
            default = DEFAULT_JALON_TIMES[jalon]
            self.fields[f"{jalon.value}_date"] = forms.DateField(
                label=jalon.label, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
            )
            self.fields[f"{jalon.value}_time"] = forms.TimeField(
                label=f"Heure (Paris) — {jalon.name}",
                required=False,
                help_text="toujours 14:00" if jalon == Jalon.J2 else f"{default:%H:%M} si vide.",
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            )
            self.fields[f"{jalon.value}_date"].widget.attrs["class"] = "fr-input"
            self.fields[f"{jalon.value}_time"].widget.attrs["class"] = "fr-input"

    def jalon_fields(self):
        return [
            (jalon, self[f"{jalon.value}_date"], self[f"{jalon.value}_time"]) for jalon in Jalon
        ]

    def clean(self):
        cleaned = super().clean()
        for jalon in Jalon:
            day = cleaned.get(f"{jalon.value}_date")
            if day is None:
                continue
            hour = cleaned.get(f"{jalon.value}_time") or DEFAULT_JALON_TIMES[jalon]
            if jalon == Jalon.J2 and hour != J2_CLOSING_TIME:
                self.add_error("j2_time", J2_TIME_MESSAGE)
                continue
            cleaned[jalon.value] = timezone.make_aware(datetime.combine(day, hour))
        return cleaned

    def apply_to(self, campagne: Campagne) -> Campagne:
        campagne.label = self.cleaned_data["label"]
        for jalon in Jalon:
            setattr(campagne, jalon.value, self.cleaned_data[jalon.value])
        return campagne

    def add_model_errors(self, error) -> None:
        """Show the model's per-jalon errors at the jalon's date field (J2's hour at
        its hour field)."""
        for field, messages in error.message_dict.items():
            target = f"{field}_date" if field in Jalon.values else None
            for message in messages:
                self.add_error("j2_time" if message == J2_TIME_MESSAGE else target, message)


class RemSearchForm(forms.Form):
    q = forms.CharField(label="Rechercher", required=False, max_length=200)
    section = forms.ChoiceField(label="Section", required=False)
    profil = forms.ModelChoiceField(
        label="Profil", required=False, queryset=Profil.objects.none(), empty_label="Tous"
    )
    perimetre = forms.ChoiceField(
        label="Périmètre", required=False, choices=[("", "Tous"), *Perimetre.choices]
    )
    nature = forms.ChoiceField(
        label="Nature",
        required=False,
        choices=[("", "Toutes"), ("exigence", "Exigences"), ("preconisation", "Préconisations")],
    )
    version = forms.ModelChoiceField(
        label="Version", required=False, queryset=RemVersion.objects.none(), empty_label=None
    )

    def __init__(self, *args, dsr, sections, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].choices = [("", "Toutes")] + [
            (key, f"{key} — {title}" if title and title != key else key) for key, title in sections
        ]
        self.fields["profil"].queryset = dsr.profils.all()
        self.fields["version"].queryset = versions
        self.fields["version"].label_from_instance = lambda version: version.label
        for field in self.fields.values():
            css = "fr-select" if isinstance(field.widget, forms.Select) else "fr-input"
            field.widget.attrs["class"] = css
