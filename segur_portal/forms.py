import re

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.template.loader import render_to_string
from django.utils import timezone
from dsfr.forms import DsfrBoundField, DsfrDjangoTemplates
from dsfr.utils import dsfr_input_class_attr

from candidatures.validators import validate_siret
from segur_portal.enums import CompanyRole
from segur_portal.models import User
from segur_portal.services import email_queue

SINGLE_LINE_MESSAGE = (
    "Ce champ tient sur une seule ligne : retirez les retours à la ligne, tabulations "
    "et caractères invisibles."
)


def is_single_line(field: forms.Field) -> bool:
    """A text field shown as a one-line input (a textarea may hold line breaks)."""
    return isinstance(field, forms.CharField) and isinstance(field.widget, forms.TextInput)


def has_control_character(value: str) -> bool:
    return any(ord(char) < 32 or 127 <= ord(char) < 160 for char in value)


class DsfrFormMixin:
    """Renders a form with the State design system: labels, hints, errors at the field.

    Every form of the portal uses it, so it also holds the rule for one-line fields:
    no line break or control character (a CR/LF in a name would end up in e-mail
    headers and file names).

    django-dsfr's own DsfrBaseForm warns on every render about its transitional
    DSFR_MARK_OPTIONAL_FIELDS setting; this mixin renders the same without the warning.
    """

    template_name = "dsfr/form_snippet.html"
    bound_field_class = DsfrBoundField

    default_renderer = DsfrDjangoTemplates()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for visible in self.visible_fields():
            dsfr_input_class_attr(visible)

    def get_context(self):
        context = super().get_context()
        context["DSFR_MARK_OPTIONAL_FIELDS"] = True
        return context

    def _clean_fields(self):
        super()._clean_fields()
        for name, field in self.fields.items():
            value = self.cleaned_data.get(name)
            if is_single_line(field) and isinstance(value, str) and has_control_character(value):
                self.add_error(name, SINGLE_LINE_MESSAGE)


class LoginForm(DsfrFormMixin, auth_forms.AuthenticationForm):
    error_messages = {
        "invalid_login": (
            "Adresse électronique ou mot de passe incorrect. Après 5 essais infructueux, "
            "la connexion est bloquée pendant 15 minutes."
        ),
        "inactive": "Ce compte est désactivé. Adressez-vous au mandataire de votre entreprise.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Adresse électronique"
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "type": "email"})


class PasswordResetForm(DsfrFormMixin, auth_forms.PasswordResetForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "Adresse électronique de votre compte"

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        # Through the outbox like every e-mail: no SMTP exchange inside the request, whose
        # duration would tell a known address from an unknown one.
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        email_queue(
            to=[to_email],
            subject=subject,
            body=render_to_string(email_template_name, context),
            sensitive=True,
        )


class SetPasswordForm(DsfrFormMixin, auth_forms.SetPasswordForm):
    pass


class PasswordChangeForm(DsfrFormMixin, auth_forms.PasswordChangeForm):
    pass


class InvitationForm(DsfrFormMixin, forms.Form):
    email = forms.EmailField(
        label="Adresse électronique professionnelle de votre collègue", max_length=254
    )
    company_role = forms.ChoiceField(
        label="Rôle dans l’entreprise",
        choices=CompanyRole.choices,
        initial=CompanyRole.SALARIE,
        help_text=(
            "Le mandataire gère les comptes de l’entreprise ; le représentant et le salarié "
            "travaillent sur les candidatures."
        ),
    )


class AccessRequestForm(DsfrFormMixin, forms.Form):
    siret = forms.CharField(
        label="SIRET de l’entreprise",
        max_length=20,
        help_text="14 chiffres : celui que l’entreprise a déclaré sur le portail.",
    )
    message = forms.CharField(
        label="Message au mandataire",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Votre fonction, votre service : ce qui l’aide à vous reconnaître.",
    )

    def clean_siret(self):
        # People copy the SIRET with its spaces: "552 100 554 00013".
        siret = re.sub(r"\s", "", self.cleaned_data["siret"])
        validate_siret(siret)
        return siret


class AccessRequestDecisionForm(DsfrFormMixin, forms.Form):
    company_role = forms.ChoiceField(
        label="Rôle dans l’entreprise", choices=CompanyRole.choices, initial=CompanyRole.SALARIE
    )


class InvitationAcceptForm(DsfrFormMixin, forms.Form):
    first_name = forms.CharField(label="Prénom", max_length=150)
    last_name = forms.CharField(label="Nom", max_length=150)
    password1 = forms.CharField(
        label="Mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Confirmation du mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "Les deux mots de passe ne sont pas identiques.")
        return cleaned


class SignupForm(InvitationAcceptForm):
    email = forms.EmailField(label="Adresse électronique professionnelle", max_length=254)
    field_order = ["first_name", "last_name", "email", "password1", "password2"]


class AdminUserCreationForm(auth_forms.BaseUserCreationForm):
    def save(self, commit=True):
        # An administrator creating an account vouches for its address.
        self.instance.email_verified_at = timezone.now()
        return super().save(commit=commit)

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role", "editeur", "company_role")


class AdminUserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role", "editeur", "company_role")
