"""Response and request models of the JSON API (they are the OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

T = TypeVar("T")

UtcDateTime = Annotated[datetime, AfterValidator(lambda d: d if d.tzinfo else d.replace(tzinfo=UTC))]
"""The store keeps naive UTC times; the API states the zone (RFC 3339 `date-time`)."""

MetricName = Literal["activity", "reaction", "eminence", "network", "knowledge_value"]
PeerGroup = Literal["company", "department", "role", "location"]
Role = Literal["employee", "manager", "analyst", "admin"]


class Page(BaseModel, Generic[T]):
    """One page of a list: `items`, the `total` count, and where this page is."""

    items: list[T]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)


# --- me ---------------------------------------------------------------------------
class PersonOut(BaseModel):
    person_id: str
    display_name: str | None = None
    department: str | None = None
    location: str | None = None
    role: str | None = None
    title: str | None = None


class AccountOut(BaseModel):
    username: str
    role: Role
    person_id: str | None = None


class MeOut(BaseModel):
    account: AccountOut
    person: PersonOut | None = None
    opted_out: bool = Field(description="True when the person opted out of analytics.")
    links: dict[str, str] = Field(default_factory=dict, description="Where to go next in the API.")


class PeriodOut(BaseModel):
    label: str
    type: str | None = None
    start: str | None = None
    end: str | None = None


class TrendPoint(BaseModel):
    period: str
    value: float | None = None


class MetricOut(BaseModel):
    value: float | None = None
    percentiles: dict[str, float | None] = Field(default_factory=dict)
    percentile: float | None = Field(None, description="The percentile among the requested peer group.")
    trend: list[TrendPoint] = Field(default_factory=list)
    breakdown: dict[str, float] = Field(default_factory=dict)
    evidence: str = Field(description="API path of the evidence behind this figure.")


class PersonaOut(BaseModel):
    name: str | None = None
    reason: str | None = None
    rule: Any = None


class TopItemOut(BaseModel):
    item_id: str
    kind: str | None = None
    title: str | None = None
    value: float | None = None
    created: str | None = None


class ReachRow(BaseModel):
    name: str
    value: float


class MetricsOut(BaseModel):
    computed: bool = Field(
        description="False until the metrics have been computed for this person and period."
    )
    message: str | None = None
    period: PeriodOut | None = None
    peer_group: PeerGroup
    opted_out: bool
    metrics: dict[str, MetricOut] = Field(default_factory=dict)
    persona: PersonaOut | None = None
    top_items: list[TopItemOut] = Field(default_factory=list)
    reach_by_department: list[ReachRow] = Field(default_factory=list)
    reach_by_location: list[ReachRow] = Field(default_factory=list)
    network_detail: Any = None
    next_step: dict[str, Any] | None = None


class EvidencePage(Page[dict[str, Any]]):
    metric: MetricName
    period: str | None = None


class ItemOut(BaseModel):
    item_id: str
    kind: str | None = None
    title: str | None = None
    snippet: str = Field("", description="The body as plain text, shortened.")
    created: UtcDateTime | None = None
    container: str | None = None
    url: str | None = None
    reactions: int = 0
    people: int = Field(0, description="Distinct colleagues who reacted.")


class ReactionOut(BaseModel):
    time: UtcDateTime | None = None
    verb: str
    actor_id: str | None = None
    actor_name: str | None = None
    value: float | None = None


class ItemDetailOut(BaseModel):
    item_id: str
    kind: str | None = None
    title: str | None = None
    html: str = Field("", description="The body, sanitized HTML (no scripts, styles or handlers).")
    created: UtcDateTime | None = None
    container: str | None = None
    url: str | None = None
    tags: list[str] = Field(default_factory=list)
    reactions: list[ReactionOut] = Field(default_factory=list)


class KudosOut(BaseModel):
    kudos_id: str
    time: UtcDateTime | None = None
    giver_id: str | None = None
    giver_name: str | None = None
    message: str | None = None
    meeting_id: str | None = None
    meeting: str | None = None
    account_id: str | None = None
    account: str | None = None
    opportunity_id: str | None = None
    opportunity: str | None = None
    item_id: str | None = None
    item: str | None = None
    tags: list[str] = Field(default_factory=list)


class ConsentOut(BaseModel):
    purpose: str
    label: str
    description: str
    granted: bool
    default: bool


class SettingsOut(BaseModel):
    opted_out: bool
    consents: list[ConsentOut]


class ConsentChoices(BaseModel):
    """A choice per purpose; purposes left out are unchanged."""

    model_config = ConfigDict(extra="forbid")
    analytics: bool | None = Field(None, description="Include me in analytics (false = opt out).")
    kudos: bool | None = Field(None, description="Colleagues may send me kudos.")
    expert_finding: bool | None = Field(None, description="Suggest me as an expert.")


class SettingsIn(BaseModel):
    """Change consent choices. `opted_out: true` is the same as `consents: {"analytics": false}`."""

    model_config = ConfigDict(extra="forbid")
    opted_out: bool | None = None
    consents: ConsentChoices | None = None


class AccessLogOut(BaseModel):
    read_at: UtcDateTime
    username: str | None = None
    role: str | None = None
    endpoint: str
    method: str | None = None
    purpose: str


class TokenOut(BaseModel):
    token_id: int
    name: str
    prefix: str
    created_at: UtcDateTime
    last_used: UtcDateTime | None = None
    revoked_at: UtcDateTime | None = None


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself: shown only now, keep it secret.")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class RulesOut(BaseModel):
    rules: dict[str, Any]
    source: str = Field(description="Where the rules were read from.")
    available: bool = Field(True, description="False when the metrics engine is not part of this build.")


# --- admin ------------------------------------------------------------------------
class SourceOut(BaseModel):
    kind: str
    summary: str
    options: dict[str, str]
    events: int = 0
    items: int = 0
    ingests: int = 0
    last_ingest: UtcDateTime | None = None


class IngestRunOut(BaseModel):
    ingest_id: int
    kind: str
    paths: list[str] = Field(default_factory=list)
    started_at: UtcDateTime | None = None
    finished_at: UtcDateTime | None = None
    status: str
    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str | None = None


class QuarantineOut(BaseModel):
    ingest_id: int | None = None
    source: str | None = None
    file: str | None = None
    line: int | None = None
    field: str | None = None
    reason: str
    raw: str | None = None
    quarantined_at: UtcDateTime | None = None


class QuarantineReason(BaseModel):
    source: str | None = None
    reason: str
    records: int


class UserOut(BaseModel):
    user_id: int
    username: str
    role: Role
    person_id: str | None = None
    display_name: str | None = None
    created_at: UtcDateTime
    disabled: bool
    last_login: UtcDateTime | None = None


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9._@-]{1,63}$")
    password: str = Field(min_length=12, max_length=1024)
    role: Role
    person: str | None = Field(None, max_length=300, description="Person id, identity key or e-mail.")


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    person: str | None = Field(None, max_length=300)
    disabled: bool | None = None


class AuthEventOut(BaseModel):
    logged_at: UtcDateTime
    actor: str | None = None
    action: str
    username: str | None = None
    ip: str | None = None
    detail: Any = None
