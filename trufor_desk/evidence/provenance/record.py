"""The Content Credentials record: what was read from an evidence file's C2PA manifest store,
how it validated, and with which parameters (trust list, SDK version).

Plain dataclasses, JSON-serialisable through :meth:`C2paRecord.to_dict` and rebuilt with
:meth:`C2paRecord.from_dict`; a case stores the dict with its evidence item, so the window,
the report, ``case show`` and ``analyze --json`` all print the same record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

# the states, in words (``state`` holds the key)
STATE_WORDS: dict[str, str] = {
    "none": "no Content Credentials (the file carries no C2PA manifest)",
    "valid": "valid, signer trusted",
    "untrusted": "valid signature, signer not trusted",
    "invalid": "INVALID",
    "unreadable": "unreadable manifest",
    "not_fetched": "remote manifest, not fetched",
    "unavailable": "C2PA reading unavailable",
}
STATES = tuple(STATE_WORDS)
NO_TRUST_LIST = "no trust list configured: a valid signature cannot be called trusted"
NOT_PROOF = ("a valid signature shows who signed the file and that it has not changed since; it does not show "
             "the content is true")
ABSENCE = ("most files carry no Content Credentials, and many platforms strip them: their absence says nothing "
           "about the image")


@dataclass
class StatusCode:
    """One validation status code, with our words and the library's own explanation."""

    code: str
    kind: str                     # "failure", "informational" or "success"
    meaning: str                  # our words
    explanation: str = ""         # the library's words
    scope: str = "active manifest"  # or "ingredient <title>"
    url: str = ""


@dataclass
class Signer:
    subject: str = ""
    issuer: str = ""
    serial: str = ""              # hexadecimal when known from the certificate, else as the library gives it
    common_name: str = ""
    algorithm: str = ""
    not_before: str = ""
    not_after: str = ""


@dataclass
class Action:
    action: str
    words: str
    software_agent: str = ""
    when: str = ""
    digital_source_type: str = ""
    source_type_words: str = ""
    description: str = ""


@dataclass
class Ingredient:
    title: str = ""
    format: str = ""
    relationship: str = ""
    manifest: str = ""            # label of its own manifest in the store ("" when it has none)
    failures: list[str] = field(default_factory=list)  # its failure codes, as validated on reading


@dataclass
class Manifest:
    """One manifest of the chain: the active one (depth 0), then its ingredients' manifests."""

    label: str
    depth: int = 0
    title: str = ""
    format: str = ""
    claim_generator: str = ""
    signer: Signer | None = None
    signing_time: str = ""        # from a time-stamp; "" when the manifest carries none
    actions: list[Action] = field(default_factory=list)
    ingredients: list[Ingredient] = field(default_factory=list)
    ai_declared: bool = False


@dataclass
class C2paRecord:
    """What :func:`~trufor_desk.evidence.provenance.reader.read_content_credentials` found."""

    state: str
    message: str = ""             # one line: why unreadable / unavailable / not fetched
    chain: list[Manifest] = field(default_factory=list)   # chain[0] is the active manifest
    status: list[StatusCode] = field(default_factory=list)
    validation_state: str = ""    # the library's own word (Valid, Trusted, Invalid)
    remote_url: str = ""
    trust: dict = field(default_factory=dict)   # {"configured", "path", "sha256", "certificates"}
    sdk: dict = field(default_factory=dict)     # {"c2pa_python", "c2pa_rs"}
    notes: list[str] = field(default_factory=list)

    @property
    def state_words(self) -> str:
        return STATE_WORDS.get(self.state, self.state)

    @property
    def active(self) -> Manifest | None:
        return self.chain[0] if self.chain else None

    @property
    def has_manifest(self) -> bool:
        return self.state in ("valid", "untrusted", "invalid")

    @property
    def ai_declared(self) -> bool:
        return any(m.ai_declared for m in self.chain)

    def failures(self) -> list[StatusCode]:
        return [s for s in self.status if s.kind == "failure"]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["state_words"] = self.state_words
        d["ai_declared"] = self.ai_declared
        return d

    @classmethod
    def from_dict(cls, d: dict) -> C2paRecord:
        """Rebuild from :meth:`to_dict` (unknown keys, e.g. from a later version, are ignored)."""
        d = dict(d or {})

        def build(kind, data):
            if not isinstance(data, dict):
                return None
            names = {f.name for f in fields(kind)}
            return kind(**{k: v for k, v in data.items() if k in names})

        chain = []
        for m in d.get("chain") or []:
            man = build(Manifest, m)
            if man is None:
                continue
            man.signer = build(Signer, m.get("signer"))
            man.actions = [a for a in (build(Action, x) for x in m.get("actions") or []) if a is not None]
            man.ingredients = [i for i in (build(Ingredient, x) for x in m.get("ingredients") or [])
                               if i is not None]
            chain.append(man)
        rec = build(cls, {k: v for k, v in d.items() if k not in ("chain", "status")}) or cls(state="unreadable")
        rec.chain = chain
        rec.status = [s for s in (build(StatusCode, x) for x in d.get("status") or []) if s is not None]
        return rec
