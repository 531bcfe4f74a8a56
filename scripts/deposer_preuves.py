#!/usr/bin/env python3
"""Dépose un dossier de preuves par l’API du portail Ségur (exemple de client, docs/API.md).

Chaque fichier du dossier est nommé par l’identifiant de sa preuve
(« SC.DMP-UX.08_capture.png », « ins-01-02-01 justificatif.pdf »…). La correspondance
est celle du portail : le script envoie les fichiers au dépôt groupé de l’API, qui les
rattache aux preuves attendues sans égard à la casse, aux accents ni aux séparateurs.
Il attend ensuite la vérification de chaque fichier (format, contenu, antivirus) et
affiche un bilan.

    export SEGUR_API_TOKEN=sgr_…
    python3 scripts/deposer_preuves.py https://referencement-segur.esante.gouv.fr 42 ./preuves

Options : --simulation (dire la correspondance sans rien déposer), --correspondances
fichier.json ({nom du fichier : [identifiant ou clé de la preuve]}), --attente secondes.
Bibliothèque standard seulement (Python 3.10 ou plus).

Code de sortie : 0 si chaque fichier est déposé et accepté, 1 si un fichier n’est pas
reconnu ou est refusé, 2 si l’API refuse l’appel (le motif est affiché).
"""

import argparse
import json
import mimetypes
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

TOKEN_VARIABLE = "SEGUR_API_TOKEN"
BULK_PATH = "/api/v1/candidatures/{candidature_id}/depot-groupe"
# Bytes per bulk call (the API takes 500 Mo; room left for the multipart framing).
MAX_BYTES_PER_CALL = 450 * 1024 * 1024
CHUNK = 1024 * 1024
STATUS_LABELS = {"acceptee": "accepté", "refusee": "refusé", "infectee": "infecté"}


class ApiError(Exception):
    """A problem+json answer: its status and its French detail, per field."""

    def __init__(self, status: int, body: dict):
        self.status = status
        self.body = body
        details = [body.get("detail") or body.get("title") or f"HTTP {status}"]
        details += [f"  - {e['champ']} : {e['detail']}" for e in body.get("errors", [])]
        super().__init__("\n".join(details))


class Client:
    def __init__(self, base_url: str, token: str, *, timeout: float = 120):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.timeout = timeout

    def call(self, method: str, path: str, *, body=None, headers=None, attempts: int = 5):
        """The JSON answer; waits as Retry-After says when the token's rate is reached."""
        for _attempt in range(attempts):
            if callable(body):
                data, extra = body()
            else:
                data, extra = body, {}
            request = urllib.request.Request(
                self.base + path,
                data=data,
                method=method,
                headers={**self.headers, **extra, **(headers or {})},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    content = response.read()
                    return json.loads(content) if content else None
            except urllib.error.HTTPError as error:
                if error.code == 429:
                    time.sleep(int(error.headers.get("Retry-After", "60")))
                    continue
                try:
                    problem = json.loads(error.read())
                except ValueError:
                    problem = {"detail": f"Réponse HTTP {error.code} inattendue."}
                raise ApiError(error.code, problem) from None
        raise ApiError(429, {"detail": "Limite d’appels du jeton atteinte à chaque essai."})

    def get(self, path: str):
        return self.call("GET", path)


def multipart(fields: dict[str, str], files: list[Path]):
    """A multipart/form-data body streamed from the files (never held whole in memory):
    (iterable of bytes, headers with its length)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for path in files:
        quoted = urllib.parse.quote(path.name)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="fichiers"; '
            f"filename=\"{quoted}\"; filename*=UTF-8''{quoted}\r\nContent-Type: {mime}\r\n\r\n"
        ).encode()
        parts.append(head)
        parts.append(path)
        parts.append(b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    length = sum(part.stat().st_size if isinstance(part, Path) else len(part) for part in parts)

    def chunks():
        for part in parts:
            if isinstance(part, Path):
                with part.open("rb") as handle:
                    while block := handle.read(CHUNK):
                        yield block
            else:
                yield part

    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(length),
    }
    return chunks(), headers


def files_per_call(client: Client) -> int:
    """How many files one bulk call takes, as the OpenAPI document says."""
    document = client.call("GET", "/openapi.json")
    body = document["paths"][BULK_PATH]["post"]["requestBody"]["content"]
    return body["multipart/form-data"]["schema"]["properties"]["fichiers"]["maxItems"]


def batches(files: list[Path], max_files: int) -> list[list[Path]]:
    """The files in calls the bulk deposit accepts (`max_files`, 450 Mo at most each)."""
    result, current, size = [], [], 0
    for path in files:
        weight = path.stat().st_size
        if current and (len(current) == max_files or size + weight > MAX_BYTES_PER_CALL):
            result.append(current)
            current, size = [], 0
        current.append(path)
        size += weight
    if current:
        result.append(current)
    return result


def deposit(client: Client, candidature: int, files: list[Path], *, simulation: bool, mapping):
    """One bulk call per batch: the server's report of each file."""
    rows = []
    for batch in batches(files, files_per_call(client)):
        fields = {"simulation": "true" if simulation else "false"}
        wanted = {path.name: mapping[path.name] for path in batch if path.name in mapping}
        if wanted:
            fields["correspondances"] = json.dumps(wanted, ensure_ascii=False)
        report = client.call(
            "POST",
            f"/candidatures/{candidature}/depot-groupe",
            body=lambda fields=fields, batch=batch: multipart(fields, batch),
        )
        rows += report["fichiers"]
    return rows


def wait_for_checks(client: Client, fichier_ids: list[str], *, timeout: float) -> dict:
    """Each file's status once checked (or still « en_verification » at the deadline)."""
    statuses, pending = {}, list(fichier_ids)
    deadline = time.monotonic() + timeout
    while pending:
        for fichier_id in list(pending):
            statuses[fichier_id] = client.get(f"/fichiers/{fichier_id}")
            if statuses[fichier_id]["statut"]["code"] != "en_verification":
                pending.remove(fichier_id)
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(2)
    return statuses


def summary(dossier: dict, rows: list[dict], statuses: dict, *, simulation: bool) -> int:
    """The French summary; the exit code."""
    problems = 0
    unmatched = [row for row in rows if not row["preuves"]]
    print(f"\nFichiers envoyés : {len(rows)} ; reconnus : {len(rows) - len(unmatched)}.")
    for row in unmatched:
        problems += 1
        print(f"  ✗ {row['chemin'] or row['nom']} : non déposé — {row['motif']}")
    if simulation:
        for row in rows:
            if row["preuves"]:
                print(f"  → {row['chemin'] or row['nom']} : {', '.join(row['preuves'])}")
        print("Simulation : rien n’a été déposé.")
        return 1 if problems else 0
    counts = {"acceptee": 0, "refusee": 0, "infectee": 0, "en_verification": 0}
    for row in rows:
        status = statuses.get(row["fichier"]) if row["fichier"] else None
        if status is None:
            continue
        code = status["statut"]["code"]
        counts[code] = counts.get(code, 0) + 1
        if code in {"refusee", "infectee"}:
            problems += 1
            print(f"  ✗ {row['nom']} ({', '.join(row['preuves'])}) : {STATUS_LABELS[code]} — "
                  f"{status['motif_refus']}")  # fmt: skip
    print(
        f"Vérification : {counts['acceptee']} accepté(s), {counts['refusee']} refusé(s), "
        f"{counts['infectee']} infecté(s), {counts['en_verification']} encore en vérification."
    )
    print(
        f"Dossier : {dossier['fournies']} preuve(s) fournie(s) sur {dossier['attendues']} ; "
        f"{dossier['manquantes']} manquante(s)."
    )
    if dossier["manquantes"] == 0 and dossier["soumissible"]:
        print("Le dossier est complet : il peut être soumis (POST …/soumission).")
    return 1 if problems or counts["en_verification"] else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Dépose un dossier de preuves nommées par identifiant, par l’API Ségur."
    )
    parser.add_argument("url", help="Adresse du portail, par exemple https://referencement-segur…")
    parser.add_argument("candidature", type=int, help="Identifiant de la candidature")
    parser.add_argument("dossier", type=Path, help="Dossier des fichiers de preuves")
    parser.add_argument(
        "--simulation", action="store_true", help="Dire la correspondance sans rien déposer"
    )
    parser.add_argument(
        "--correspondances",
        type=Path,
        help="Fichier JSON {nom du fichier : [preuves]} pour les noms ambigus",
    )
    parser.add_argument(
        "--attente", type=float, default=300, help="Secondes d’attente des vérifications"
    )
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        print(f"Indiquez le jeton dans la variable {TOKEN_VARIABLE}.", file=sys.stderr)
        return 2
    if not args.dossier.is_dir():
        print(f"« {args.dossier} » n’est pas un dossier.", file=sys.stderr)
        return 2
    mapping_file = args.correspondances.resolve() if args.correspondances else None
    files = sorted(
        path
        for path in args.dossier.rglob("*")
        if path.is_file() and not path.name.startswith(".") and path.resolve() != mapping_file
    )
    mapping = json.loads(mapping_file.read_text(encoding="utf-8")) if mapping_file else {}
    client = Client(args.url, token)
    try:
        dossier = client.get(f"/candidatures/{args.candidature}/preuves")
        print(
            f"Candidature {args.candidature} : {dossier['attendues']} preuve(s) attendue(s), "
            f"{dossier['fournies']} fournie(s) ; {len(files)} fichier(s) à envoyer."
        )
        if not files:
            return 1
        rows = deposit(client, args.candidature, files, simulation=args.simulation, mapping=mapping)
        deposited = [row["fichier"] for row in rows if row["fichier"]]
        statuses = (
            {} if args.simulation else wait_for_checks(client, deposited, timeout=args.attente)
        )
        dossier = client.get(f"/candidatures/{args.candidature}/preuves")
    except ApiError as error:
        print(f"L’API a refusé l’appel (HTTP {error.status}) : {error}", file=sys.stderr)
        return 2
    except urllib.error.URLError as error:
        print(f"Portail injoignable : {error.reason}", file=sys.stderr)
        return 2
    return summary(dossier, rows, statuses, simulation=args.simulation)


if __name__ == "__main__":
    sys.exit(main())
