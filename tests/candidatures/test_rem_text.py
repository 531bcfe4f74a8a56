import pytest

from candidatures.rem_import.text import comparable, fold, html_to_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("   ", ""),
        ("  Le système DOIT  ", "Le système DOIT"),
        ("<p>Le système DOIT tracer.</p>", "Le système DOIT tracer."),
        ("<p>Premier.</p>\n<p>Second.</p>", "Premier.\n\nSecond."),
        ("<p>Ligne un<br/>\nligne deux</p>", "Ligne un\nligne deux"),
        ("<P>Majuscules<BR>encore</P>", "Majuscules\nencore"),
        (
            "<p>Le <b>système</b> <strong>DOIT</strong> <u>tracer</u> <i>tout</i>.</p>",
            "Le système DOIT tracer tout.",
        ),
        (
            "<p>Liste :</p><ul><li>un</li><li>deux</li></ul><p>Fin.</p>",
            "Liste :\n\n- un\n- deux\n\nFin.",
        ),
        ("Avant<ol><li>un</li>\n<li>deux</li></ol>", "Avant\n- un\n- deux"),
        ("L&#39;&eacute;diteur&nbsp;: l&rsquo;ANS", "L'éditeur : l’ANS"),
        ("<p>&lt;b&gt; reste du texte</p>", "<b> reste du texte"),
        ("Texte <u>souligné</u>\n\n\n\nsuite", "Texte souligné\n\nsuite"),
        ("a < b et c > d", "a < b et c > d"),
        ("R&D, AT&T", "R&D, AT&T"),
        (
            "https://<location>/drim où <location> est local",
            "https://<location>/drim où <location> est local",
        ),
        ("<p>Nommer <date de l’acte>_<NOM>.pdf</p>", "Nommer <date de l’acte>_<NOM>.pdf"),
        ("x\xa0: y\u202f; z", "x : y ; z"),
        ("ligne   \nautre\t\n\n\n\nfin  ", "ligne\nautre\n\nfin"),
        ("un\r\ndeux\rtrois", "un\ndeux\ntrois"),
        ("<script>alert(1)</script>texte<!-- note -->", "texte"),
        ("<p>Collé depuis Word<o:p></o:p></p>", "Collé depuis Word"),
        (
            '<p><span style="color:red">rouge</span> <a href="https://x.fr">lien</a></p>',
            "rouge lien",
        ),
    ],
)
def test_html_to_text_converts_cells(value, expected):
    assert html_to_text(value) == expected


def test_html_to_text_real_squash_cell_keeps_its_line_breaks():
    # ans_squash_create_rem_bio_va2_20230109.xlsx, REQ_VERSION_DESCRIPTION
    cell = (
        "<p>Le système DOIT indiquer les critères de recherche utilisés et permettre de "
        "filtrer les résultats par :</p>\n<p><br/>\nModalité(s)<br/>\nDate de l’examen "
        "(plage de deux dates)<br/>\nRégion(s) anatomique(s).</p>"
    )
    assert html_to_text(cell) == (
        "Le système DOIT indiquer les critères de recherche utilisés et permettre de "
        "filtrer les résultats par :\n\nModalité(s)\nDate de l’examen (plage de deux dates)\n"
        "Région(s) anatomique(s)."
    )


def test_html_to_text_plain_text_keeps_its_newlines_around_inline_tags():
    # ans_rem_va2_drimbox_prepub_exigences.csv: inline tags inside text laid out by newlines.
    cell = "<u>Cas authentification directe</u>\n\n\nDans l'en-tête du message SOAP\xa0"
    assert html_to_text(cell) == "Cas authentification directe\n\nDans l'en-tête du message SOAP"


def test_html_to_text_output_holds_no_known_tag():
    cell = "<div><p><b>a</b><br><i>b</i></p><ul><li><strong>c</strong></li></ul></div>"
    text = html_to_text(cell)
    assert "<" not in text
    assert text == "a\nb\n\n- c"


def test_fold_drops_case_and_accents():
    assert fold("Énoncé PRÉCONISATION Obsolète") == "enonce preconisation obsolete"


def test_comparable_ignores_spacing():
    assert comparable(" Le  système\nDOIT ") == comparable("Le système DOIT")
