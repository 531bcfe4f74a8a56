"""The kinds of proof, their formats and sizes: the single source of truth.

Formats are checked on the file's content (libmagic), never on its name. Sizes are
in Mo as the agency writes them, where 1 Mo = 2^20 bytes.
"""

from dataclasses import dataclass

from candidatures.enums import ProofKind

MO = 2**20

VIDEO_CAPTURE_MIME_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "video/mp4",
        "video/quicktime",
        "video/x-msvideo",
        "video/x-flv",
    }
)
PDF_MIME_TYPES = frozenset({"application/pdf"})


@dataclass(frozen=True)
class ProofKindSpec:
    kind: ProofKind
    formats_label: str
    # None: any format is accepted.
    mime_types: frozenset[str] | None
    max_bytes: int
    # The test-space report may be given as an https link instead of a file.
    accepts_url: bool = False

    @property
    def label(self) -> str:
        return self.kind.label

    @property
    def max_size_label(self) -> str:
        return f"{self.max_bytes // MO} Mo"


PROOF_KINDS: dict[ProofKind, ProofKindSpec] = {
    spec.kind: spec
    for spec in [
        ProofKindSpec(
            ProofKind.VIDEO_CAPTURE,
            "PNG, JPEG, JPG, MP4, MOV, AVI, FLV",
            VIDEO_CAPTURE_MIME_TYPES,
            50 * MO,
        ),
        ProofKindSpec(ProofKind.LIEN_RAPPORT, "tout format, ou un lien https", None, 1 * MO, True),
        ProofKindSpec(ProofKind.FICHIER, "tout format", None, 1 * MO),
        ProofKindSpec(ProofKind.COMPTE_RENDU, "PDF", PDF_MIME_TYPES, 10 * MO),
        ProofKindSpec(ProofKind.JUSTIFICATIF, "PDF", PDF_MIME_TYPES, 10 * MO),
    ]
}
