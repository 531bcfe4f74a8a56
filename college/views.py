"""The collège's séances, and the phase-3 actions on a candidature: signing the
convention, answering and lifting réserves, déréférencement. Rights are checked per
request and per object; the rules live in college.services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from candidatures.permissions import candidatures_visible_to
from candidatures.views.candidature import candidature_detail_render, editor_ready
from college import phase3
from college import services as college_services
from college.enums import DecisionKind, SeanceStatus
from college.forms import (
    ConflictForm,
    DecisionForm,
    OpenSeanceForm,
    ReasonForm,
    ReserveAnswerForm,
    ReserveFormSet,
    ReturnForm,
    SignForm,
)
from college.models import ConflitInteret, Decision, Inscription, Reserve, Seance
from preuves.cnda import cnda_state, cnda_states
from preuves.depot import FREE_RULE
from preuves.instruction import instruction_sollicitations
from preuves.selectors import instruction_findings
from preuves.uploads import bounded_upload
from segur_portal.enums import Role
from segur_portal.exports import EXPORT_FORMATS, export_response
from segur_portal.listing import page_of, sort_from, text_param
from segur_portal.models import User
from segur_portal.security import client_ip


def _require_agency(user) -> None:
    if not user.is_agency:
        raise PermissionDenied


def _add_errors(form, error: ValidationError) -> None:
    """A service's errors at their field when the form has it, else above the form."""
    if hasattr(error, "error_dict"):
        for name, texts in error.message_dict.items():
            form.add_error(name if name in form.fields else None, texts)
    else:
        form.add_error(None, error.messages)


def _members():
    return User.objects.filter(role=Role.COLLEGE, is_active=True).order_by("last_name", "pk")


# Séances


PAST_PAGE_SIZE = 20
PAST_SORTS = {"date": ["date"], "ordre": ["agenda", "date"], "decisions": ["decided", "date"]}
SEANCES_EXPORT_HEADER = ["Date", "Statut", "Candidatures à l’ordre du jour", "Décisions"]


@require_GET
def seance_list(request):
    _require_agency(request.user)
    college_services.seances_plan(now=timezone.now())
    seances = Seance.objects.annotate(
        agenda=Count("inscriptions", distinct=True),
        decided=Count("inscriptions__decision", distinct=True),
    )
    year = text_param(request.GET, "annee")
    past = seances.filter(status=SeanceStatus.CLOSE)
    if year.isdigit():
        past = past.filter(date__year=int(year))
    sort = sort_from(request.GET, PAST_SORTS, "-date")
    past = past.order_by(*sort.ordering)
    export = request.GET.get("export")
    if export in EXPORT_FORMATS:
        return export_response(
            export,
            header=SEANCES_EXPORT_HEADER,
            rows=(
                [seance.date, seance.get_status_display(), seance.agenda, seance.decided]
                for seance in past.iterator(chunk_size=500)
            ),
            filename=f"seances-closes{'-' + year if year.isdigit() else ''}",
        )
    return render(
        request,
        "college/seance_list.html",
        {
            "title": "Séances du collège",
            "upcoming": seances.exclude(status=SeanceStatus.CLOSE).order_by("date"),
            "page_obj": page_of(request.GET, past, per_page=PAST_PAGE_SIZE),
            "sort": sort,
            "year": year,
            "years": [
                day.year
                for day in Seance.objects.filter(status=SeanceStatus.CLOSE).dates(
                    "date", "year", order="DESC"
                )
            ],
        },
    )


def _prefixes(inscription_pk: int) -> tuple[str, str]:
    """Each agenda item has its forms: their fields need ids of their own in the page."""
    return f"decision-{inscription_pk}", f"reserves-{inscription_pk}"


def _sans_reserve_refusal(cnda) -> str:
    return "" if cnda.obtained else cnda.refusal


def _decision_forms(inscription_pk: int, decision: Decision | None, cnda):
    decision_prefix, reserves_prefix = _prefixes(inscription_pk)
    refusal = _sans_reserve_refusal(cnda)
    if decision is None:
        return (
            DecisionForm(prefix=decision_prefix, sans_reserve_refusal=refusal),
            ReserveFormSet(prefix=reserves_prefix),
        )
    reserves = [
        {"text": r.text, "exigences": ", ".join(e.identifier for e in r.exigences.all())}
        for r in decision.reserves.all()
    ]
    return (
        DecisionForm(
            prefix=decision_prefix,
            initial={"kind": decision.kind, "text": decision.text},
            sans_reserve_refusal=refusal,
        ),
        ReserveFormSet(prefix=reserves_prefix, initial=reserves),
    )


def _render_seance(request, seance: Seance, *, status=200, bound=None, open_form=None):
    """The séance page; `bound` carries a refused decision back: (inscription pk, forms)."""
    user = request.user
    inscriptions = list(
        seance.inscriptions.select_related(
            "candidature__editeur", "candidature__campagne__dsr", "candidature__rem_version"
        )
        .prefetch_related(
            "candidature__profils",
            Prefetch("conflits", queryset=ConflitInteret.objects.select_related("user")),
            Prefetch(
                "candidature__sollicitations",
                queryset=instruction_sollicitations(),
                to_attr="instruction_sollicitations",
            ),
        )
        .order_by("signed_at", "pk")
    )
    decisions = {
        d.inscription_id: d
        for d in Decision.objects.filter(inscription__seance=seance)
        .select_related("recorded_by")
        .prefetch_related("reserves__exigences")
    }
    attendance = list(seance.membres.select_related("user").order_by("user__last_name", "pk"))
    present = any(m.user_id == user.pk and m.present for m in attendance)
    present_ids = {m.user_id for m in attendance if m.present}
    cnda = cnda_states((inscription.candidature for inscription in inscriptions), just_read=True)
    # What the instruction found, so that a member decides from the page.
    findings = instruction_findings(inscription.candidature for inscription in inscriptions)
    is_open = seance.status == SeanceStatus.OUVERTE
    for inscription in inscriptions:
        inscription.recorded = decisions.get(inscription.pk)
        inscription.cnda = cnda[inscription.candidature_id]
        inscription.findings = findings[inscription.candidature_id]
        inscription.conflicted = any(c.user_id == user.pk for c in inscription.conflits.all())
        # Who counts for its quorum: present, without a conflict on it.
        inscription.deciders = len(present_ids - {c.user_id for c in inscription.conflits.all()})
        inscription.quorum_missing = (
            college_services.quorum_missing(inscription.deciders) if is_open else ""
        )
        # What the closing would do with it: shown beside it and in the confirmation.
        inscription.carry_over = (
            college_services.carry_over_reason(
                seance=seance,
                deciders=inscription.deciders,
                decision=inscription.recorded,
                cnda=inscription.cnda,
            )
            if is_open
            else ""
        )
        inscription.can_decide = (
            is_open
            and user.role == Role.COLLEGE
            and present
            and not inscription.conflicted
            and not inscription.quorum_missing
        )
        inscription.can_declare = (
            seance.status in {SeanceStatus.PLANIFIEE, SeanceStatus.OUVERTE}
            and user.role == Role.COLLEGE
            and not inscription.conflicted
            and not (inscription.recorded and inscription.recorded.recorded_by_id == user.pk)
        )
        if inscription.can_decide:
            if bound and bound[0] == inscription.pk:
                inscription.decision_form, inscription.reserve_formset = bound[1]
            else:
                inscription.decision_form, inscription.reserve_formset = _decision_forms(
                    inscription.pk, inscription.recorded, inscription.cnda
                )
    return render(
        request,
        "college/seance_detail.html",
        {
            "title": f"Séance du collège du {seance.date:%d/%m/%Y}",
            "seance": seance,
            "inscriptions": inscriptions,
            "attendance": attendance,
            "present": present,
            "runs_seances": college_services.runs_seances(user),
            # Only a séance still planned is opened, with its list of members.
            "open_form": open_form
            or (
                OpenSeanceForm(members=_members(), initial={"present": [str(user.pk)]})
                if seance.status == SeanceStatus.PLANIFIEE
                else None
            ),
            "carried": [i for i in inscriptions if i.carry_over],
            "close_title": f"Clore la séance du {seance.date:%d/%m/%Y} ?",
            "close_items": [_closing_item(inscription) for inscription in inscriptions]
            if is_open
            else [],
            "opening_problem": college_services.seance_opening_problem(seance, timezone.now()),
            "quorum": college_services.quorum(),
        },
        status=status,
    )


def _closing_item(inscription: Inscription) -> str:
    """What the closing makes final for one agenda item, in words."""
    candidature = inscription.candidature
    name = f"{candidature.reference} — {candidature.nom_commercial} {candidature.version_technique}"
    if inscription.carry_over:
        return f"{name} : reportée à la séance suivante. {inscription.carry_over}"
    decision = inscription.recorded
    outcome = {
        DecisionKind.SANS_RESERVE: "attestation et numéro de référencement émis",
        DecisionKind.RESERVES_NON_BLOQUANTES: "le délai de 4 semaines de levée des réserves court",
        DecisionKind.RESERVES_BLOQUANTES: "le référencement est refusé",
    }[decision.kind]
    return f"{name} : {decision.get_kind_display()} — notifiée à l’éditeur ; {outcome}."


def _seance(request, pk: int) -> Seance:
    _require_agency(request.user)
    # The minutes too: a closed séance's page links them (one query fewer).
    return get_object_or_404(
        Seance.objects.select_related("opened_by", "closed_by", "minutes"), pk=pk
    )


@require_GET
def seance_detail(request, pk: int):
    return _render_seance(request, _seance(request, pk))


@require_POST
def seance_open(request, pk: int):
    seance = _seance(request, pk)
    form = OpenSeanceForm(request.POST, members=_members())
    if form.is_valid():
        try:
            college_services.seance_open(
                seance=seance, actor=request.user, present_ids=form.cleaned_data["present"]
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(
                request, "Séance ouverte : les candidatures inscrites sont en collège."
            )
            return redirect("college:seance", pk)
    return _render_seance(request, seance, status=400, open_form=form)


@require_POST
def seance_presence(request, pk: int):
    seance = _seance(request, pk)
    user_id = request.POST.get("user", "")
    try:
        college_services.seance_presence_set(
            seance=seance,
            actor=request.user,
            user_id=int(user_id) if user_id.isdigit() else 0,
            present=request.POST.get("present") == "1",
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(f"{seance_url(seance)}#presences")


@require_POST
def seance_close(request, pk: int):
    seance = _seance(request, pk)
    try:
        college_services.seance_close(seance=seance, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        carried = seance.inscriptions.exclude(deferred_reason="").count()
        messages.success(
            request,
            "Séance close : les décisions sont notifiées aux éditeurs ; le procès-verbal est "
            "en préparation."
            + (
                f" {carried} candidature(s) reportée(s) à la séance suivante, avec le motif."
                if carried
                else ""
            ),
        )
    return redirect("college:seance", pk)


def seance_url(seance: Seance) -> str:
    return reverse("college:seance", args=[seance.pk])


def _inscription(request, pk: int) -> Inscription:
    _require_agency(request.user)
    return get_object_or_404(Inscription.objects.select_related("seance", "candidature"), pk=pk)


@require_POST
def conflict_declare(request, pk: int):
    inscription = _inscription(request, pk)
    form = ConflictForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        college_services.conflict_declare(inscription=inscription, actor=request.user, note=note)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Conflit d’intérêts déclaré sur {inscription.candidature.reference} : vous "
            "n’enregistrez pas sa décision.",
        )
    return redirect(f"{seance_url(inscription.seance)}#inscription-{inscription.pk}")


@require_POST
def decision_record(request, pk: int):
    inscription = _inscription(request, pk)
    decision_prefix, reserves_prefix = _prefixes(inscription.pk)
    form = DecisionForm(
        request.POST,
        prefix=decision_prefix,
        sans_reserve_refusal=_sans_reserve_refusal(cnda_state(inscription.candidature)),
    )
    formset = ReserveFormSet(request.POST, prefix=reserves_prefix)
    if form.is_valid() and formset.is_valid():
        reserves = [
            college_services.ReserveInput(
                text=row.get("text", ""),
                exigence_identifiers=college_services.parse_identifiers(row.get("exigences", "")),
            )
            for row in formset.cleaned_data
        ]
        try:
            college_services.decision_record(
                inscription=inscription,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                text=form.cleaned_data["text"],
                reserves=reserves,
            )
        except ValidationError as error:
            if hasattr(error, "error_dict") and "reserves" in error.message_dict:
                formset_errors = error.message_dict.pop("reserves")
                formset.non_form_errors().extend(formset_errors)
                error = ValidationError(error.message_dict) if error.message_dict else None
            if error is not None:
                _add_errors(form, error)
            if form.has_error("kind"):
                # The error says it all: the same words as a hint above it would repeat it.
                form["kind"].help_text = ""
        else:
            messages.success(
                request, f"Décision enregistrée pour {inscription.candidature.reference}."
            )
            return redirect(f"{seance_url(inscription.seance)}#inscription-{inscription.pk}")
    return _render_seance(
        request, inscription.seance, status=400, bound=(inscription.pk, (form, formset))
    )


# On a candidature


def _candidature(request, pk: int):
    return get_object_or_404(
        candidatures_visible_to(request.user).select_related("editeur", "campagne__dsr"), pk=pk
    )


@editor_ready
@require_http_methods(["GET", "POST"])
def convention_sign(request, pk: int):
    candidature = _candidature(request, pk)
    now = timezone.now()
    state = phase3.for_candidature(candidature, request.user, now)
    if not state.can_sign:
        raise PermissionDenied
    convention = state.convention
    form = SignForm(
        request.POST or None,
        consent_text=state.consent_text,
        initial={"document_sha256": convention.sha256},
    )
    if request.method == "POST" and form.is_valid():
        try:
            college_services.convention_sign(
                convention=convention,
                actor=request.user,
                signature=college_services.Signature(
                    password=form.cleaned_data["password"],
                    consent=form.cleaned_data["consent"],
                    document_sha256=form.cleaned_data["document_sha256"],
                    ip=client_ip(request),
                    user_agent=request.headers.get("User-Agent", ""),
                ),
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(
                request,
                "Convention signée : la candidature est inscrite à la prochaine séance du collège.",
            )
            return redirect("candidatures:detail", pk)
    return render(
        request,
        "college/convention_sign.html",
        {
            "title": f"Signer la convention — {candidature.reference}",
            "candidature": candidature,
            "convention": convention,
            "form": form,
        },
        status=400 if form.errors else 200,
    )


@editor_ready
@require_POST
def convention_issue(request, pk: int):
    candidature = _candidature(request, pk)
    try:
        college_services.convention_issue(candidature=candidature, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Convention émise : l’entreprise est invitée à la signer.")
    return redirect("candidatures:detail", pk)


def _reserve(request, pk: int) -> Reserve:
    reserve = get_object_or_404(
        Reserve.objects.select_related("decision__inscription__candidature__editeur"), pk=pk
    )
    # Another company gets a 404, as for the candidature itself.
    candidature = reserve.decision.inscription.candidature
    if not candidatures_visible_to(request.user).filter(pk=candidature.pk).exists():
        raise Http404("Réserve introuvable.")
    return reserve


# Files one answer to a réserve may carry.
MAX_RESERVE_FILES = 10


def _back(reserve: Reserve):
    candidature = reserve.decision.inscription.candidature
    return redirect(f"{reverse('candidatures:detail', args=[candidature.pk])}#reserve-{reserve.pk}")


@editor_ready
@require_POST
@bounded_upload(FREE_RULE.max_bytes, max_files=MAX_RESERVE_FILES)
def reserve_answer(request, pk: int):
    reserve = _reserve(request, pk)
    form = ReserveAnswerForm(request.POST, request.FILES, prefix=f"reserve-{reserve.pk}")
    if form.is_valid():
        try:
            college_services.reserve_answer(
                reserve=reserve,
                actor=request.user,
                comment=form.cleaned_data["comment"],
                uploads=form.cleaned_data["fichiers"],
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Réponse à la réserve {reserve.position} envoyée à l’ANS.")
            return _back(reserve)
    return _candidature_with_forms(request, reserve, answer_form=form)


def _candidature_with_forms(request, reserve: Reserve, **forms):
    """The candidature page again, the refused form in place with its errors."""
    return candidature_detail_render(
        request,
        reserve.decision.inscription.candidature.pk,
        status=400,
        phase3_forms={reserve.pk: forms},
    )


@editor_ready
@require_POST
def reserve_lift(request, pk: int):
    reserve = _reserve(request, pk)
    try:
        college_services.reserve_lift(reserve=reserve, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Réserve {reserve.position} levée.")
    return _back(reserve)


@editor_ready
@require_POST
def reserve_return(request, pk: int):
    reserve = _reserve(request, pk)
    form = ReturnForm(request.POST, prefix=f"retour-{reserve.pk}")
    if form.is_valid():
        try:
            college_services.reserve_return(
                reserve=reserve, actor=request.user, comment=form.cleaned_data["comment"]
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(
                request, f"Réponse à la réserve {reserve.position} renvoyée à l’éditeur."
            )
            return _back(reserve)
    return _candidature_with_forms(request, reserve, return_form=form)


def _reason_action(service, success: str, required_message: str):
    """A decision on a candidature that needs a reason: refused, the page comes back with
    the reason typed and the error at its field."""

    @editor_ready
    @require_POST
    def view(request, pk: int):
        candidature = _candidature(request, pk)
        form = ReasonForm(request.POST, required_message=required_message)
        if form.is_valid():
            try:
                service(
                    candidature=candidature, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, success)
                return redirect("candidatures:detail", pk)
        return candidature_detail_render(request, pk, status=400, reason_form=form)

    return view


levee_refuse = _reason_action(
    college_services.levee_refuse,
    "Levée refusée : le référencement est refusé.",
    "Motivez le refus : il est notifié à l’éditeur.",
)
dereference = _reason_action(
    college_services.candidature_dereference,
    "Logiciel déréférencé : l’attestation est retirée et le registre à jour.",
    "Motivez le déréférencement : il est rendu public.",
)
