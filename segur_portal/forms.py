from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.utils import timezone
from dsfr.forms import DsfrBoundField, DsfrDjangoTemplates
from dsfr.utils import dsfr_input_class_attr

from segur_portal.enums import CompanyRole
from segur_portal.models import User


class DsfrFormMixin:
    """Renders a form with the State design system: labels, hints, errors at the field.

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
