from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader


@login_not_required
def permission_denied(request, exception=None):
    return render(request, "403.html", {"title": "Accès refusé"}, status=403)


@login_not_required
def page_not_found(request, exception=None):
    return render(request, "404.html", {"title": "Page introuvable"}, status=404)


@login_not_required
def server_error(request):
    # A standalone page, rendered without the request: the error may come from the
    # context processors or the database.
    return HttpResponseServerError(loader.get_template("500.html").render())
