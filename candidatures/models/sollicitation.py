from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Least

from candidatures.enums import SollicitationPhase, SollicitationStatus
from candidatures.models.messages import Message, MessageFichier
from segur_portal.clocks import (
    deadline_after_calendar_days,
    halfway,
    one_working_day_before,
)

# Instruction: without an answer after 5 days, a major delay is announced.
INSTRUCTION_DELAY_DAYS = 5
OPEN = Q(status=SollicitationStatus.OUVERTE)


class Sollicitation(models.Model):
    """A request from the agency to the company, then the conversation it opens, until
    the instructor closes it or the jalon ends the phase's exchanges.

    Every deadline is stored when the request is made; the sweep acts on them and
    records each outcome once (its *_at field), so a late or repeated sweep is harmless.
    The company's first answer stops the clock (answered_at); later messages do not
    touch it.
    """

    candidature = models.ForeignKey(
        "candidatures.Candidature", on_delete=models.PROTECT, related_name="sollicitations"
    )
    phase = models.CharField("phase", max_length=20, choices=SollicitationPhase.choices)
    status = models.CharField(
        "statut",
        max_length=20,
        choices=SollicitationStatus.choices,
        default=SollicitationStatus.OUVERTE,
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="+"
    )
    opened_at = models.DateTimeField("envoyée le")
    # The decisive deadline: phase 1, 5 working days (rejection); instruction, 30 days
    # (abandonment).
    due_at = models.DateTimeField("échéance")
    # The jalon after which no exchange of this phase is possible (J3, J5 or J7).
    closes_at = models.DateTimeField("fin des échanges")
    answered_at = models.DateTimeField("répondue le", null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )
    # When the sweep acts on the clock, stored with the deadlines (clock_instants) so
    # that it selects what is due through an index instead of reading every open row.
    # The 24 h deprioritisation is opened_at + 24 h: opened_at is its column.
    reminder_half_at = models.DateTimeField("rappel de mi-délai", null=True, blank=True)
    reminder_last_at = models.DateTimeField("rappel du dernier jour ouvré", null=True, blank=True)
    retard_at = models.DateTimeField("retard important annoncé le", null=True, blank=True)
    reminder_half_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_last_sent_at = models.DateTimeField(null=True, blank=True)
    depriorisation_applied_at = models.DateTimeField(null=True, blank=True)
    retard_applied_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField("close sans réponse le", null=True, blank=True)
    # An answered conversation ends here: closed by an instructor, or by the sweep
    # (closed_by null) at the jalon or once the candidature has left the phase.
    closed_at = models.DateTimeField("échange clos le", null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="clos par",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
    )
    # A request for complements during instruction names the requirements concerned:
    # the editor may then change the proofs of those only.
    exigences = models.ManyToManyField(
        "candidatures.Exigence", verbose_name="exigences concernées", blank=True
    )

    class Meta:
        verbose_name = "sollicitation"
        ordering = ["opened_at", "id"]
        # One partial index per event of the clock, holding only the open sollicitations
        # for which that event is still to come: the sweep reads what is due, whatever
        # the number open (candidatures.services.sollicitation.due_clocks).
        indexes = [
            models.Index(fields=["due_at"], condition=OPEN, name="sollicitation_open_due"),
            models.Index(fields=["closes_at"], condition=OPEN, name="sollicitation_open_closes"),
            models.Index(
                fields=["reminder_half_at"],
                condition=OPEN & Q(reminder_half_sent_at__isnull=True),
                name="sollicitation_half_due",
            ),
            models.Index(
                fields=["reminder_last_at"],
                condition=OPEN & Q(reminder_last_sent_at__isnull=True),
                name="sollicitation_last_due",
            ),
            models.Index(
                fields=["opened_at"],
                condition=OPEN
                & Q(phase=SollicitationPhase.INSTRUCTION, depriorisation_applied_at__isnull=True),
                name="sollicitation_deprio_due",
            ),
            models.Index(
                fields=["retard_at"],
                condition=OPEN
                & Q(phase=SollicitationPhase.INSTRUCTION, retard_applied_at__isnull=True),
                name="sollicitation_retard_due",
            ),
            models.Index(
                fields=["closes_at"],
                condition=models.Q(status="repondue"),
                name="sollicitation_answered_closes",
            ),
            # The agency's lists read, for each candidature of a page, a count or a sort
            # (candidatures.selectors.pilotage): its open sollicitation with the nearest
            # deadline, and its requests during instruction in the order they were sent
            # (the lost place, the time suspended).
            models.Index(
                F("candidature"),
                Least("due_at", "closes_at"),
                condition=OPEN,
                name="sollicitation_open_candidature",
            ),
            # With the instants that end a suspension or the 24 h: the instruction time
            # net of suspensions and the lost places read the index alone, not a row
            # of the table per sollicitation (the statistics, the queues' sorts).
            models.Index(
                fields=["candidature", "phase", "opened_at"],
                include=["answered_at", "expired_at", "closed_at"],
                name="sollicitation_sent_covering",
            ),
        ]
        constraints = [
            # A row the sweep could not select would never be reminded.
            models.CheckConstraint(
                condition=~OPEN
                | (
                    Q(reminder_half_at__isnull=False, reminder_last_at__isnull=False)
                    & (~Q(phase=SollicitationPhase.INSTRUCTION) | Q(retard_at__isnull=False))
                ),
                name="sollicitation_open_has_clock",
            )
        ]

    def __str__(self) -> str:
        return f"Sollicitation {self.pk} ({self.get_phase_display()})"

    def save(self, *args, **kwargs):
        # Derived once from the deadlines, which never change: however the row is made,
        # the sweep's indexes find it.
        if self.reminder_half_at is None:
            for name, value in self.clock_instants().items():
                setattr(self, name, value)
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], *self.clock_instants()}
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status == SollicitationStatus.OUVERTE

    @property
    def effective_due_at(self):
        return min(self.due_at, self.closes_at)

    def clock_instants(self) -> dict:
        """The instants the sweep acts at, from the stored deadlines: reminders at
        half-time and one working day before the decisive deadline (the earlier of the
        phase's deadline and the jalon); in instruction, the major delay after 5 days."""
        due_at = self.effective_due_at
        return {
            "reminder_half_at": halfway(self.opened_at, due_at),
            "reminder_last_at": max(one_working_day_before(due_at), self.opened_at),
            "retard_at": deadline_after_calendar_days(self.opened_at, INSTRUCTION_DELAY_DAYS)
            if self.phase == SollicitationPhase.INSTRUCTION
            else None,
        }


class SollicitationMessage(Message):
    sollicitation = models.ForeignKey(
        Sollicitation, on_delete=models.CASCADE, related_name="messages"
    )
    fichiers = models.ManyToManyField(
        "preuves.Fichier",
        verbose_name="pièces jointes",
        blank=True,
        through="candidatures.SollicitationMessageFichier",
        related_name="+",
    )

    class Meta(Message.Meta):
        verbose_name = "message de sollicitation"
        verbose_name_plural = "messages de sollicitation"


class SollicitationMessageFichier(MessageFichier):
    message = models.ForeignKey(SollicitationMessage, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "pièce jointe d’un message de sollicitation"
        verbose_name_plural = "pièces jointes des messages de sollicitation"
        constraints = [
            models.UniqueConstraint(
                fields=["message", "fichier"], name="sollicitation_message_fichier_unique"
            )
        ]
