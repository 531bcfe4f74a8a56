from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from candidatures.enums import (
    PHASE_1_STATES,
    TERMINAL_STATES,
    CandidatureState,
    CndaStatus,
    ServiceSocle,
)
from candidatures.validators import validate_siret

S = CandidatureState
# Side exits by the agency, the editor or the sweep: from any state still open.
OPEN_STATES = [state for state in S.values if state not in TERMINAL_STATES]
validate_cnda_number = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9 ./_-]{0,49}$",
    "Numéro attendu tel que le CNDA l’a délivré : lettres, chiffres, tirets (50 caractères au plus).",
)


class Candidature(ConcurrentTransitionMixin, models.Model):
    """One version of one editor's software, filed against one DSR's campaign.

    It stays on the REM version it started with until moved deliberately
    (candidatures.services.referentiel.candidature_rem_move). The @transition methods
    only declare which moves exist; candidatures.services.candidature performs them.
    """

    editeur = models.ForeignKey(
        "candidatures.Editeur", on_delete=models.PROTECT, related_name="candidatures"
    )
    campagne = models.ForeignKey(
        "candidatures.Campagne", on_delete=models.PROTECT, related_name="candidatures"
    )
    rem_version = models.ForeignKey(
        "candidatures.RemVersion",
        verbose_name="version du REM",
        on_delete=models.PROTECT,
        related_name="candidatures",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="créée par",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField("créée le", default=timezone.now)
    state = FSMField("état", default=S.BROUILLON, choices=S.choices, protected=True)

    # Administrative candidature (DSR §4.2)
    nom_commercial = models.CharField("dénomination commerciale", max_length=200, default="")
    numero_referencement_v1 = models.CharField(
        "numéro de référencement vague 1", max_length=60, blank=True
    )
    version_technique = models.CharField("numéro de version technique", max_length=100, default="")
    date_depot_preuves_prevue = models.DateField(
        "date prévisionnelle du dépôt du dossier de preuves complet", null=True, blank=True
    )

    # Eligibility (DSR §4.3)
    nie = models.CharField(
        "NIE (numéro d’identification éditeur, CNDA)",
        max_length=50,
        blank=True,
        validators=[validate_cnda_number],
    )
    nil = models.CharField(
        "NIL (numéro d’identification logiciel, CNDA)",
        max_length=50,
        blank=True,
        validators=[validate_cnda_number],
    )
    cnda_depot = models.ForeignKey(
        "preuves.Fichier",
        verbose_name="attestation de dépôt de la demande de labellisation CNDA",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    lettre_engagement = models.ForeignKey(
        "preuves.Fichier",
        verbose_name="lettre d’engagement signée",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    parc_fichier = models.ForeignKey(
        "preuves.Fichier",
        verbose_name="liste des versions du parc client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    parc_received_at = models.DateTimeField("liste du parc reçue le", null=True, blank=True)
    profils = models.ManyToManyField("candidatures.Profil", verbose_name="profils", blank=True)
    groupement = models.BooleanField("candidature d’un groupement d’éditeurs", default=False)
    distribue = models.BooleanField("logiciel commercialisé via des distributeurs", default=False)
    # Wave-1 software: the cases in which the wave-1 périmètre is checked again (DSR §4.5).
    v1_sans_engagement_compatibilite = models.BooleanField(
        "pas d’engagement de compatibilité ascendante (art. 9 de la convention)", default=False
    )
    v1_audit_non_conformite = models.BooleanField(
        "audit de non-conformité en cours, défauts non résolus", default=False
    )
    v1_defaut_non_resolu = models.BooleanField("signalement de défaut non résolu", default=False)
    v1_dereferencement_en_cours = models.BooleanField(
        "procédure de déréférencement en cours", default=False
    )

    # When each step happened; the queues order by the first submission.
    admin_submitted_at = models.DateTimeField(null=True, blank=True)
    admin_validated_at = models.DateTimeField(null=True, blank=True)
    eligibility_submitted_at = models.DateTimeField(null=True, blank=True)
    eligible_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.TextField("motif de clôture", blank=True)
    # Phase 2 and 3 (DSR §4.4, §4.5)
    cnda_homologation = models.CharField(
        "statut des homologations CNDA",
        max_length=20,
        choices=CndaStatus.choices,
        blank=True,
        default=CndaStatus.NON_RENSEIGNE,
    )
    dossier_submitted_at = models.DateTimeField(
        "dossier de preuves complet reçu le", null=True, blank=True
    )
    instructeur = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="instructeur",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )
    instruction_started_at = models.DateTimeField("instruction commencée le", null=True, blank=True)
    instruction_closed_at = models.DateTimeField("instruction close le", null=True, blank=True)
    # Instruction flags set by the sweep when a sollicitation goes unanswered.
    depriorisee_at = models.DateTimeField("dépriorisée le", null=True, blank=True)
    retard_important_at = models.DateTimeField("retard important depuis", null=True, blank=True)

    class Meta:
        verbose_name = "candidature"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "admin_submitted_at"], name="candidature_admin_queue"),
            models.Index(
                fields=["state", "eligibility_submitted_at"], name="candidature_elig_queue"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nom_commercial} {self.version_technique} ({self.editeur.raison_sociale})"

    @property
    def dsr(self):
        return self.campagne.dsr

    @property
    def reference(self) -> str:
        return f"C-{self.pk:06d}"

    @property
    def is_closed(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def in_phase_1(self) -> bool:
        return self.state in PHASE_1_STATES

    @property
    def is_v1_software(self) -> bool:
        return bool(self.numero_referencement_v1)

    @property
    def wave_1_perimetre_applies(self) -> bool:
        return self.is_v1_software and (
            self.v1_sans_engagement_compatibilite
            or self.v1_audit_non_conformite
            or self.v1_defaut_non_resolu
            or self.v1_dereferencement_en_cours
        )

    # Transitions: legality only (source → target). See candidatures.services.candidature.

    @transition(field=state, source=S.BROUILLON, target=S.ADMIN_SOUMISE)
    def submit_admin(self):
        pass

    @transition(field=state, source=S.ADMIN_SOUMISE, target=S.ADMIN_VALIDEE)
    def validate_admin(self):
        pass

    @transition(field=state, source=S.ADMIN_VALIDEE, target=S.ELIGIBILITE_SOUMISE)
    def submit_eligibility(self):
        pass

    @transition(field=state, source=S.ELIGIBILITE_SOUMISE, target=S.ELIGIBLE)
    def validate_eligibility(self):
        pass

    @transition(field=state, source=[S.ADMIN_SOUMISE, S.ELIGIBILITE_SOUMISE], target=S.REJETEE)
    def reject(self):
        pass

    # The sweep: a draft never submitted by J2 (a later first deposit is refused).
    @transition(field=state, source=S.BROUILLON, target=S.REJETEE)
    def close_draft(self):
        pass

    # The sweep: an eligibility form never submitted by J4.
    @transition(field=state, source=S.ADMIN_VALIDEE, target=S.REJETEE)
    def close_eligibility_unsubmitted(self):
        pass

    @transition(field=state, source=S.ELIGIBLE, target=S.DOSSIER_SOUMIS)
    def submit_dossier(self):
        pass

    @transition(field=state, source=S.ELIGIBLE, target=S.REJETEE)
    def close_unsubmitted(self):
        pass

    @transition(field=state, source=S.DOSSIER_SOUMIS, target=S.EN_INSTRUCTION)
    def take_instruction(self):
        pass

    @transition(field=state, source=S.EN_INSTRUCTION, target=S.PREUVES_VALIDEES)
    def close_instruction(self):
        pass

    # Phase 3: convention and collège. See college.services.

    @transition(field=state, source=S.PREUVES_VALIDEES, target=S.CONVENTION_ENVOYEE)
    def issue_convention(self):
        pass

    @transition(field=state, source=S.CONVENTION_ENVOYEE, target=S.CONVENTION_SIGNEE)
    def sign_convention(self):
        pass

    @transition(field=state, source=S.CONVENTION_SIGNEE, target=S.EN_COLLEGE)
    def enter_college(self):
        pass

    # A séance closed without deciding it: on the next séance's agenda.
    @transition(field=state, source=S.EN_COLLEGE, target=S.CONVENTION_SIGNEE)
    def carry_over(self):
        pass

    @transition(field=state, source=[S.EN_COLLEGE, S.LEVEE_SOUMISE], target=S.REFERENCEE)
    def grant_referencing(self):
        pass

    @transition(field=state, source=S.EN_COLLEGE, target=S.RESERVES_NON_BLOQUANTES)
    def set_reserves(self):
        pass

    @transition(field=state, source=S.RESERVES_NON_BLOQUANTES, target=S.LEVEE_SOUMISE)
    def submit_levee(self):
        pass

    # The instructor sends an answer back while the deadline still runs.
    @transition(field=state, source=S.LEVEE_SOUMISE, target=S.RESERVES_NON_BLOQUANTES)
    def reopen_reserves(self):
        pass

    @transition(
        field=state,
        source=[S.EN_COLLEGE, S.RESERVES_NON_BLOQUANTES, S.LEVEE_SOUMISE],
        target=S.REFUSEE,
    )
    def refuse(self):
        pass

    @transition(field=state, source=S.REFERENCEE, target=S.DEREFERENCEE)
    def dereference(self):
        pass

    @transition(field=state, source=[S.DOSSIER_SOUMIS, S.EN_INSTRUCTION], target=S.ABANDONNEE)
    def abandon(self):
        pass

    @transition(field=state, source=OPEN_STATES, target=S.RETIREE)
    def withdraw(self):
        pass


class CandidatureTransition(models.Model):
    """The candidature's history: every change of state, who made it, when and why."""

    candidature = models.ForeignKey(
        Candidature, on_delete=models.CASCADE, related_name="transitions"
    )
    name = models.CharField("transition", max_length=50)
    from_state = models.CharField("état de départ", max_length=30, choices=S.choices)
    to_state = models.CharField("état d’arrivée", max_length=30, choices=S.choices)
    # Null: the portal itself (a clock of the sweep).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="auteur",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField("le", default=timezone.now)
    reason = models.TextField("motif", blank=True)

    class Meta:
        verbose_name = "transition de candidature"
        verbose_name_plural = "transitions de candidature"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.candidature_id} {self.from_state} → {self.to_state}"


class VersionParc(models.Model):
    """One version of the software in the customer base, as the editor declared it.
    Published on the public site as soon as received (DSR §4.3)."""

    candidature = models.ForeignKey(
        Candidature, on_delete=models.CASCADE, related_name="versions_parc"
    )
    version_technique = models.CharField("version technique", max_length=100)
    nom_commercial = models.CharField("nom de version commerciale", max_length=200)
    referencee_v1 = models.BooleanField("référencée en vague 1")
    fin_maintenance = models.BooleanField("arrêt de maintenance annoncé")
    fin_maintenance_url = models.URLField("annonce de l’arrêt de maintenance", max_length=500)
    fin_commercialisation = models.BooleanField("arrêt de commercialisation annoncé")
    fin_commercialisation_url = models.URLField(
        "annonce de l’arrêt de commercialisation", max_length=500
    )
    position = models.PositiveIntegerField()

    class Meta:
        verbose_name = "version du parc client"
        verbose_name_plural = "versions du parc client"
        ordering = ["candidature", "position"]

    def __str__(self) -> str:
        return self.version_technique


class ComposantAdditionnel(models.Model):
    candidature = models.ForeignKey(
        Candidature, on_delete=models.CASCADE, related_name="composants"
    )
    editeur_nom = models.CharField("éditeur du composant", max_length=200)
    nom_commercial = models.CharField("dénomination commerciale", max_length=200)
    version = models.CharField("version", max_length=100)
    nil = models.CharField("NIL", max_length=50, validators=[validate_cnda_number])
    service_socle = models.CharField(
        "service socle concerné", max_length=20, choices=ServiceSocle.choices
    )

    class Meta:
        verbose_name = "composant additionnel"
        verbose_name_plural = "composants additionnels"
        ordering = ["candidature", "id"]

    def __str__(self) -> str:
        return f"{self.nom_commercial} {self.version}"


class MembreGroupement(models.Model):
    candidature = models.ForeignKey(
        Candidature, on_delete=models.CASCADE, related_name="membres_groupement"
    )
    raison_sociale = models.CharField("raison sociale", max_length=255)
    siret = models.CharField("SIRET", max_length=14, validators=[validate_siret])
    mandat = models.ForeignKey(
        "preuves.Fichier",
        verbose_name="mandat donné au chef de file (PDF)",
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )

    class Meta:
        verbose_name = "membre du groupement"
        verbose_name_plural = "membres du groupement"
        ordering = ["candidature", "id"]

    def __str__(self) -> str:
        return self.raison_sociale


class Distributeur(models.Model):
    candidature = models.ForeignKey(
        Candidature, on_delete=models.CASCADE, related_name="distributeurs"
    )
    raison_sociale = models.CharField("raison sociale", max_length=255)
    siret = models.CharField("SIRET", max_length=14, validators=[validate_siret])
    mandat_signe_le = models.DateField("mandat signé le")
    mandat_fin_le = models.DateField("fin du mandat le")

    class Meta:
        verbose_name = "distributeur"
        ordering = ["candidature", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(mandat_fin_le__gt=models.F("mandat_signe_le")),
                name="distributeur_mandat_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.raison_sociale
