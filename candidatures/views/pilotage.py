"""The agency's lists of candidatures (the queues and the list of every candidature):
filters, sorts and pages in the query string, counts, assignment to an instructor,
CSV and XLSX exports of what the filters select."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from candidatures.models import Candidature, Dsr
from candidatures.permissions import PROCEDURE_ROLES
from candidatures.selectors import pilotage as selectors
from candidatures.services.assignment import (
    ASSIGNABLE_STATES,
    NOT_AN_INSTRUCTOR,
    NOT_ASSIGNABLE,
    assignable_instructors,
    candidature_assign,
)
from segur_portal import charts
from segur_portal.exports import EXPORT_FORMATS, export_response
from segur_portal.forms import DsfrFormMixin
from segur_portal.listing import page_of
from segur_portal.permissions import role_required
from segur_portal.statistics import SIX_WEEKS_DAYS, STEPS, Period, programme_statistics


class AssignForm(DsfrFormMixin, forms.Form):
    """The dossiers ticked in the list (their boxes carry form="attribution") and the
    instructor who gets them."""

    instructeur = forms.ModelChoiceField(
        label="Attribuer les dossiers cochés à",
        queryset=assignable_instructors(),
        empty_label="Choisir un instructeur",
        error_messages={
            "required": "Choisissez l’instructeur à qui attribuer les dossiers cochés.",
            "invalid_choice": NOT_AN_INSTRUCTOR,
        },
    )
    candidatures = forms.ModelMultipleChoiceField(
        queryset=Candidature.objects.filter(state__in=ASSIGNABLE_STATES),
        widget=forms.MultipleHiddenInput,
        error_messages={
            "required": "Cochez au moins un dossier à attribuer.",
            "invalid_choice": NOT_ASSIGNABLE,
            "invalid_pk_value": NOT_ASSIGNABLE,
        },
    )

    def __init__(self, *args, instructors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instructeur"].queryset = instructors
        self.fields["instructeur"].label_from_instance = lambda user: user.get_full_name()


def _assign(request, form: AssignForm, now):
    """The assignment posted from the list; None when refused, the errors in the form."""
    if not form.is_valid():
        return None
    try:
        changed = candidature_assign(
            candidatures=form.cleaned_data["candidatures"],
            instructeur=form.cleaned_data["instructeur"],
            actor=request.user,
            now=now,
        )
    except ValidationError as error:
        for name, texts in error.message_dict.items():
            form.add_error(name if name in form.fields else None, texts)
        return None
    name = form.cleaned_data["instructeur"].get_full_name()
    count = len(changed)
    if count:
        messages.success(
            request,
            f"{count} dossier{'s' if count > 1 else ''} attribué{'s' if count > 1 else ''} "
            f"à {name}, qui en est notifié.",
        )
    else:
        messages.info(request, f"Les dossiers cochés étaient déjà attribués à {name}.")
    back = request.get_full_path()
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = request.path
    return redirect(back)


def agency_list_response(
    request, *, queue_name: str | None, template: str, context: dict, filename: str
):
    """A queue (`queue_name`) or the list of every candidature (None): the page, its
    export (?export=csv|xlsx, every filter kept), or the assignment posted from it."""
    now = timezone.now()
    queue = selectors.QUEUES[queue_name] if queue_name else None
    listing = selectors.agency_list(queue=queue, params=request.GET, user=request.user, now=now)
    export = request.GET.get("export")
    if request.method == "GET" and export in EXPORT_FORMATS:
        return export_response(
            export,
            header=selectors.EXPORT_HEADER,
            rows=selectors.export_rows(listing),
            filename=filename,
        )
    instructors = assignable_instructors()
    form = AssignForm(request.POST or None, instructors=instructors)
    if request.method == "POST":
        response = _assign(request, form, now)
        if response is not None:
            return response
    page = page_of(request.GET, listing.candidatures, per_page=selectors.PAGE_SIZE)
    rows = selectors.page_rows(listing, page, queue=queue)
    return render(
        request,
        template,
        {
            **context,
            "queue": queue,
            "queue_name": queue_name,
            "listing": listing,
            "filters": listing.filters,
            "sort": listing.sort,
            "sort_labels": selectors.sort_labels(queue),
            "etats": queue.etats if queue else selectors.LIST_ETATS,
            "late_kinds": selectors.LATE,
            "page_obj": page,
            "rows": rows,
            "counts": selectors.agency_counts(listing, user=request.user),
            "instructors": instructors,
            "assign_form": form,
            "dsrs": Dsr.objects.filter(campagnes__isnull=False).distinct().order_by("code"),
            "submitted_label": queue.submitted_label if queue else "Créée le",
        },
        status=400 if form.is_bound and form.errors else 200,
    )


# Statistics of the programme (issue 12, item 6)

DEFAULT_WEEKS = 26
MAX_DAYS = 3 * 366


class StatisticsForm(DsfrFormMixin, forms.Form):
    du = forms.DateField(
        label="Du",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Saisissez une date, par exemple 07/12/2026."},
    )
    au = forms.DateField(
        label="Au (inclus)",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Saisissez une date, par exemple 07/12/2026."},
    )
    pas = forms.ChoiceField(label="Par", choices=list(STEPS.items()))
    dsr = forms.ChoiceField(label="DSR", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        codes = Dsr.objects.filter(campagnes__isnull=False).distinct().order_by("code")
        self.fields["dsr"].choices = [("", "Tous")] + [
            (code, code) for code in codes.values_list("code", flat=True)
        ]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("du"), cleaned.get("au")
        if start and end:
            if end < start:
                self.add_error("au", "La fin de la période précède son début.")
            elif (end - start).days > MAX_DAYS:
                self.add_error("du", "La période s’étend sur trois ans au plus.")
        return cleaned


def _default_params(today) -> dict:
    return {
        "du": (today - timedelta(weeks=DEFAULT_WEEKS)).isoformat(),
        "au": today.isoformat(),
        "pas": "semaine",
        "dsr": "",
    }


def _labels(table, period) -> list[str]:
    return [period.label(bucket) for bucket in period.buckets][: len(table.rows)]


def _charts(stats) -> dict:
    """Each table drawn as the chart a person reads at a glance, with what it shows said
    in words for those who do not see it."""
    period, running = stats.period, stats.instruction_now
    total = sum(row[1] for row in stats.states.rows)
    stock_names = stats.stock.header[1:]
    last_stock = stats.stock.rows[-1][1:] if stats.stock.rows else []
    closed = running["closed"]
    with_closures = [row for row in stats.instruction.rows if row[1]]
    sollicitations = stats.sollicitations
    depri = stats.depriorisations
    seance_rows = stats.seances.rows
    return {
        "etats": charts.bar_chart(
            "graphique-etats",
            title="Candidatures par état aujourd’hui",
            description=f"{total} candidatures : "
            + ", ".join(f"{label} {count}" for label, count in stats.states.rows)
            + ".",
            rows=[(label, count) for label, count in stats.states.rows],
        ),
        "stock": charts.line_chart(
            "graphique-stock",
            title="Candidatures à chaque étape en fin de période",
            description="En fin de dernière période : "
            + ", ".join(
                f"{name} {count}" for name, count in zip(stock_names, last_stock, strict=True)
            )
            + ".",
            labels=_labels(stats.stock, period),
            series=[
                (name, [row[index + 1] for row in stats.stock.rows])
                for index, name in enumerate(stock_names)
            ],
        ),
        "instruction": charts.line_chart(
            "graphique-instruction",
            title="Temps d’instruction net des suspensions (jours), par période de clôture",
            description=f"{closed} instructions closes sur la période"
            + (
                f" ; dernière période avec des clôtures : médiane {with_closures[-1][2]} jours, "
                f"90e centile {with_closures[-1][3]} jours, {with_closures[-1][4]} % dans les "
                f"{SIX_WEEKS_DAYS} jours"
                if with_closures
                else ""
            )
            + f". Ligne de référence : les {SIX_WEEKS_DAYS} jours indicatifs.",
            labels=_labels(stats.instruction, period),
            series=[
                ("Médiane", [row[2] for row in stats.instruction.rows]),
                ("90e centile", [row[3] for row in stats.instruction.rows]),
            ],
            reference=(SIX_WEEKS_DAYS, "6 semaines"),
            unit=" j",
        ),
        "sollicitations": charts.stacked_bar_chart(
            "graphique-sollicitations",
            title="Délai de réponse des éditeurs aux sollicitations, par phase",
            description="; ".join(
                f"{row[0]} : {row[1]} envoyées, {row[8] or 0} % répondues en 24 h, "
                f"{row[9] or 0} % en 5 jours, {row[10] or 0} % en 30 jours"
                for row in sollicitations.rows
            )
            + ".",
            categories=[row[0] for row in sollicitations.rows],
            series=[
                (name, [row[index] for row in sollicitations.rows])
                for index, name in enumerate(sollicitations.header[2:8], start=2)
            ],
            percent=True,
        ),
        "depriorisations": charts.line_chart(
            "graphique-depriorisations",
            title="Dépriorisations et abandons par période",
            description=f"{sum(row[1] for row in depri.rows)} dossiers dépriorisés et "
            f"{sum(row[2] for row in depri.rows)} candidatures abandonnées sur la période.",
            labels=_labels(depri, period),
            series=[
                ("Dossiers dépriorisés", [row[1] for row in depri.rows]),
                ("Candidatures abandonnées", [row[2] for row in depri.rows]),
            ],
        ),
        "seances": charts.stacked_bar_chart(
            "graphique-seances",
            title="Décisions du collège par séance",
            description=f"{len(seance_rows)} séances closes sur la période, "
            f"{sum(row[1] for row in seance_rows)} candidatures à l’ordre du jour, "
            f"{sum(sum(row[2:5]) for row in seance_rows)} décisions.",
            categories=[row[0] for row in seance_rows],
            series=[
                (name, [row[index] for row in seance_rows])
                for index, name in enumerate(stats.seances.header[2:], start=2)
            ],
        ),
    }


SECTIONS = [
    ("etats", ["etats", "etats_dsr"]),
    ("stock", ["stock"]),
    ("instruction", ["instruction", "instruction_dsr"]),
    ("sollicitations", ["sollicitations"]),
    ("depriorisations", ["depriorisations"]),
    ("seances", ["seances"]),
]


@role_required(*PROCEDURE_ROLES)
@require_GET
def statistics(request):
    """The programme's statistics per DSR and per period; ?tableau=<name>&export=csv
    gives one table as CSV (or XLSX), with the same filters."""
    now = timezone.now()
    today = timezone.localdate(now)
    params = request.GET if "du" in request.GET or "au" in request.GET else None
    form = StatisticsForm({**_default_params(today), **(params.dict() if params else {})})
    context = {"title": "Statistiques du programme", "form": form}
    if not form.is_valid():
        return render(request, "pilotage/statistiques.html", context, status=400)
    data = form.cleaned_data
    period = Period(data["du"], data["au"], data["pas"])
    stats = programme_statistics(period=period, dsr=data["dsr"], now=now)
    export, name = request.GET.get("export"), request.GET.get("tableau")
    if export in EXPORT_FORMATS and name in stats.tables:
        table = stats.tables[name]
        return export_response(
            export,
            header=table.header,
            rows=table.rows,
            filename=f"statistiques-{name}-{period.start}-{period.end}",
        )
    drawn = _charts(stats)
    context.update(
        stats=stats,
        sections=[
            (key, drawn[key], [stats.tables[name] for name in tables]) for key, tables in SECTIONS
        ],
        running=stats.instruction_now,
    )
    return render(request, "pilotage/statistiques.html", context)
