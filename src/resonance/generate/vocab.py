"""Static vocabulary of the synthetic company: departments, topics, places, names, words.

Everything here is plain data. Words contain no quote or backslash so that
writers can put them in JSON, CSV and iCalendar text without escaping
surprises (escaping is still done where a format needs it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topic:
    slug: str
    name: str
    tags: tuple[str, ...]
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Department:
    name: str
    share: float          # of the head count
    family: str           # job family of its individual contributors (the `role`)
    ic_titles: tuple[str, ...]   # junior -> senior
    topics: tuple[Topic, ...]
    helps: tuple[str, ...] = ()  # departments whose questions it often answers


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _t(slug: str, name: str, tags: str, words: str) -> Topic:
    return Topic(slug, name, _words(tags), _words(words))


DEPARTMENTS: tuple[Department, ...] = (
    Department(
        "Engineering", 0.27, "Engineer",
        ("Software Engineer I", "Software Engineer II", "Senior Software Engineer", "Staff Engineer",
         "Principal Engineer"),
        (
            _t("platform", "Platform and Kubernetes", "kubernetes helm platform containers",
               "cluster node pod deployment helm chart ingress autoscaling namespace operator rollout "
               "container registry terraform provisioning capacity"),
            _t("data", "Data pipelines", "kafka spark data-pipelines etl",
               "kafka topic partition consumer spark job schema warehouse parquet batch streaming "
               "lineage backfill airflow dbt latency"),
            _t("frontend", "Web front end", "react typescript frontend accessibility",
               "component react hooks bundle typescript css layout rendering accessibility browser "
               "state design-system storybook hydration"),
            _t("security", "Security engineering", "security mtls vulnerabilities secrets",
               "certificate mtls rotation vulnerability patch secrets vault audit token oauth sso "
               "encryption pentest threat-model"),
            _t("reliability", "Reliability and observability", "sre observability incidents on-call",
               "incident outage postmortem alert dashboard slo error-budget tracing metrics paging "
               "runbook latency p99 on-call"),
            _t("api", "APIs and integrations", "api integrations webhooks graphql",
               "endpoint webhook graphql rest pagination rate-limit sdk versioning contract "
               "integration payload idempotency retries"),
            _t("ml", "Machine learning", "machine-learning models embeddings mlops",
               "model training inference embeddings feature-store evaluation drift gpu notebook "
               "recommendation ranking dataset labeling"),
        ),
        helps=("Support", "Sales", "Product", "Customer Success"),
    ),
    Department(
        "Product", 0.06, "Product Manager",
        ("Associate Product Manager", "Product Manager", "Senior Product Manager", "Group Product Manager"),
        (
            _t("roadmap", "Roadmap and planning", "roadmap prioritization okrs",
               "roadmap milestone priority okr quarter launch scope backlog epic dependency "
               "tradeoff release beta"),
            _t("research", "User research", "user-research interviews personas ux",
               "interview persona usability prototype survey journey insight feedback wireframe "
               "onboarding friction discovery"),
            _t("pricing", "Pricing and packaging", "pricing packaging plans",
               "pricing tier bundle discount packaging seat usage-based trial upgrade plan "
               "margin willingness"),
        ),
        helps=("Sales", "Marketing"),
    ),
    Department(
        "Sales", 0.14, "Account Executive",
        ("Sales Development Representative", "Account Executive", "Senior Account Executive",
         "Strategic Account Executive"),
        (
            _t("enterprise-deals", "Enterprise deals", "enterprise-sales deals negotiation",
               "deal proposal negotiation procurement champion stakeholder pipeline close "
               "contract redline discount signature"),
            _t("prospecting", "Prospecting", "prospecting outbound leads",
               "lead outbound cadence sequence qualification discovery-call persona territory "
               "prospect meeting booked"),
            _t("forecasting", "Forecasting", "forecast pipeline quota",
               "forecast quota commit upside pipeline coverage stage conversion win-rate "
               "quarter-end bookings"),
            _t("partners", "Partner channel", "partners channel resellers alliances",
               "partner reseller alliance referral co-selling marketplace integration "
               "certification enablement margin"),
        ),
    ),
    Department(
        "Marketing", 0.08, "Marketer",
        ("Marketing Coordinator", "Marketing Specialist", "Senior Marketing Manager", "Principal Marketer"),
        (
            _t("campaigns", "Campaigns", "campaigns demand-gen email-marketing",
               "campaign landing-page conversion audience nurture email webinar attribution "
               "mql funnel budget creative"),
            _t("content", "Content and SEO", "content seo blog",
               "blog article keyword seo ranking editorial calendar case-study whitepaper "
               "newsletter headline traffic"),
            _t("events", "Events", "events conferences booth",
               "conference booth keynote sponsorship venue registration speaker agenda swag "
               "roadshow meetup"),
            _t("product-marketing", "Product marketing", "product-marketing positioning launches",
               "positioning messaging launch battlecard competitor narrative analyst "
               "differentiation pitch-deck persona"),
        ),
        helps=("Sales",),
    ),
    Department(
        "Support", 0.11, "Support Engineer",
        ("Support Associate", "Support Engineer", "Senior Support Engineer", "Support Escalation Lead"),
        (
            _t("escalations", "Escalations", "escalations tickets sev1",
               "ticket escalation severity customer-impact workaround repro bug triage "
               "hotfix root-cause sla"),
            _t("knowledge-base", "Knowledge base", "knowledge-base docs faq",
               "article faq macro how-to troubleshooting guide search deflection answer "
               "screenshot template"),
            _t("billing-support", "Billing questions", "billing invoices refunds",
               "invoice refund charge credit-card subscription proration receipt dunning "
               "payment renewal"),
        ),
        helps=("Customer Success", "Sales"),
    ),
    Department(
        "Customer Success", 0.07, "Customer Success Manager",
        ("Customer Success Associate", "Customer Success Manager", "Senior Customer Success Manager",
         "Principal Customer Success Manager"),
        (
            _t("renewals", "Renewals", "renewals churn retention",
               "renewal churn risk retention health-score expansion upsell contract term "
               "executive-sponsor"),
            _t("adoption", "Adoption", "adoption onboarding training",
               "onboarding adoption training rollout champion usage milestone success-plan "
               "workshop enablement"),
            _t("qbr", "Business reviews", "qbr business-review roi",
               "qbr roi value outcome metrics executive review benchmark report goals "
               "stakeholder"),
        ),
        helps=("Sales",),
    ),
    Department(
        "Finance", 0.05, "Analyst",
        ("Financial Analyst", "Senior Financial Analyst", "Finance Manager", "Principal Analyst"),
        (
            _t("budgeting", "Budgeting", "budget planning headcount",
               "budget forecast headcount variance opex capex plan allocation cost-center "
               "approval"),
            _t("expenses", "Expenses and procurement", "expenses procurement purchasing",
               "expense report reimbursement purchase-order vendor procurement approval "
               "policy travel card"),
            _t("revenue", "Revenue accounting", "revenue-recognition accounting audit",
               "revenue recognition deferred arr booking invoice audit close ledger "
               "reconciliation"),
        ),
    ),
    Department(
        "People", 0.04, "People Partner",
        ("People Coordinator", "People Partner", "Senior People Partner", "Principal People Partner"),
        (
            _t("hiring", "Hiring", "hiring recruiting interviews",
               "candidate interview requisition offer recruiter sourcing pipeline referral "
               "onboarding scorecard"),
            _t("benefits", "Benefits", "benefits leave payroll",
               "benefits leave payroll pension insurance wellbeing holiday enrollment "
               "allowance"),
            _t("performance", "Performance and growth", "performance career learning",
               "review feedback calibration promotion career-ladder goals learning mentoring "
               "coaching"),
        ),
    ),
    Department(
        "Legal", 0.03, "Counsel",
        ("Paralegal", "Counsel", "Senior Counsel", "Principal Counsel"),
        (
            _t("contracts", "Contracts", "contracts msa legal-review",
               "msa dpa clause liability indemnity redline signature nda terms amendment "
               "order-form"),
            _t("privacy", "Privacy", "privacy gdpr data-protection",
               "gdpr privacy consent data-subject retention processor subprocessor dpia "
               "transfer cookie"),
            _t("compliance", "Compliance", "compliance soc2 iso27001",
               "soc2 iso27001 control audit evidence policy attestation vendor-risk "
               "questionnaire certification"),
        ),
        helps=("Sales", "Engineering"),
    ),
    Department(
        "IT", 0.05, "IT Specialist",
        ("IT Support Technician", "IT Specialist", "Senior Systems Administrator", "IT Architect"),
        (
            _t("helpdesk", "Help desk", "helpdesk laptops accounts",
               "laptop password reset account access vpn printer monitor license software "
               "request"),
            _t("identity", "Identity and access", "sso identity okta",
               "sso okta provisioning scim group role mfa access-review deprovisioning "
               "directory"),
            _t("collaboration-tools", "Collaboration tools", "slack email calendar",
               "slack channel email calendar wiki video-call room booking integration "
               "workspace"),
        ),
        helps=("People", "Finance", "Sales", "Marketing", "Support"),
    ),
)

DEPARTMENT_MANAGER_TITLES = {
    "Engineering": "Engineering Manager", "Product": "Product Lead", "Sales": "Sales Manager",
    "Marketing": "Marketing Manager", "Support": "Support Manager",
    "Customer Success": "Customer Success Lead", "Finance": "Finance Lead", "People": "People Lead",
    "Legal": "Legal Lead", "IT": "IT Manager",
}

# Interest communities that cut across departments (guilds, clubs, programmes).
INTEREST_COMMUNITIES = (
    ("ai-guild", "AI Guild"), ("women-in-tech", "Women in Tech"), ("green-team", "Green Team"),
    ("cycling-club", "Cycling Club"), ("customer-stories", "Customer Stories"),
    ("new-joiners", "New Joiners"), ("book-club", "Book Club"), ("mentoring", "Mentoring Circle"),
)

# City, country, UTC offset in hours (standard time; good enough for working hours), weight.
LOCATIONS: tuple[tuple[str, str, float, float], ...] = (
    ("San Francisco", "US", -8, 0.16), ("New York", "US", -5, 0.14), ("Austin", "US", -6, 0.08),
    ("Toronto", "CA", -5, 0.07), ("London", "GB", 0, 0.14), ("Berlin", "DE", 1, 0.10),
    ("Paris", "FR", 1, 0.07), ("Bangalore", "IN", 5.5, 0.12), ("Singapore", "SG", 8, 0.06),
    ("Sydney", "AU", 10, 0.06),
)

FIRST_NAMES = _words("""
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan
Joseph Jessica Thomas Sarah Charles Karen Chris Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark
Margaret Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin
Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Jason Laura Edward Sharon Jeffrey
Cynthia Ryan Kathleen Jacob Amy Gary Angela Nicholas Shirley Eric Anna Jonathan Ruth Stephen Brenda
Larry Pamela Justin Nicole Scott Katherine Brandon Samantha Benjamin Christine Samuel Emma Gregory
Catherine Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Maria Dennis Heather Jerry
Diane Tyler Julie Aaron Joyce Jose Victoria Adam Kelly Nathan Christina Henry Lauren Zachary Joan
Priya Arjun Ananya Rohan Kavya Vikram Aditi Rahul Sneha Wei Li Jing Hao Mei Chen Yuki Haruto Sakura
Kenji Aiko Min-jun Seo-yeon Ji-ho Hana Olga Dmitri Anastasia Ivan Katarina Lukas Sofia Matteo Giulia
Luca Chiara Pierre Camille Louis Chloe Hugo Manon Sven Ingrid Lars Astrid Nils Freya Mateo Valentina
Santiago Camila Diego Lucia Javier Elena Pablo Ines Kwame Amara Chidi Ngozi Tunde Zainab Omar Layla
Yusuf Fatima Hamza Aisha Noah Olivia Liam Ava Ethan Mia Mason Isla Logan Zoe Aiden Chloe Leo Ruby
Jordan Taylor Morgan Casey Riley Alex Jamie Avery Quinn Rowan
""")

# A few names with characters outside ASCII: real directories have them, e-mail local parts do not.
FIRST_NAMES_ACCENTED = ("José", "Zoë", "Søren", "Björn", "Renée", "Chloé", "Jürgen", "Ángel", "Mikaël", "Siân")

LAST_NAMES = _words("""
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams
Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Shah Gupta Sharma Iyer Reddy Singh
Kumar Chen Wang Zhang Liu Huang Zhao Wu Tanaka Sato Suzuki Takahashi Watanabe Kim Park Choi Jung
Kang Ivanova Petrov Smirnov Novak Kowalski Nowak Muller Schmidt Schneider Fischer Weber Becker
Rossi Russo Ferrari Esposito Bianchi Romano Dubois Laurent Bernard Moreau Lefebvre Girard Johansson
Andersson Karlsson Nilsson Larsen Hansen Jensen Silva Santos Oliveira Costa Pereira Fernandes Okafor
Mensah Adeyemi Okoye Diallo Haddad Khalil Rahman Hussain Ahmed Yilmaz Kaya Demir OBrien Murphy Kelly
Byrne Walsh Ryan McCarthy Sullivan Fitzgerald Lindqvist Berg Dahl Vos Jansen deVries Bakker Visser
""")
LAST_NAMES_SPECIAL = ("O'Brien", "Núñez", "Müller", "García-López", "D'Angelo", "Łukasik")

# Customer organisations: adjective + noun + kind, e.g. "Blue Harbor Logistics".
CUSTOMER_ADJECTIVES = _words("""
Blue Red Green Silver Golden Northern Southern Eastern Western Bright Swift Summit Pioneer Atlas
Apex Evergreen Granite Harbor Iron Maple Cedar Crystal Coastal Prairie Polar Solar Lunar Stellar
Vertex Quantum Nimbus Crimson Azure Amber Ivory Obsidian Sterling Copper Orchid Falcon
""")
CUSTOMER_NOUNS = _words("""
Harbor River Peak Ridge Bay Valley Forge Bridge Field Lake Stone Gate Point Works Labs Systems
Dynamics Networks Holdings Partners Group Ventures Foods Motors Health Energy Logistics Retail
Insurance Bank Pharma Media Airlines Telecom Foundry
""")
INDUSTRIES = (
    "Banking", "Insurance", "Healthcare", "Retail", "Manufacturing", "Logistics", "Telecommunications",
    "Energy", "Media", "Pharmaceuticals", "Public Sector", "Education", "Technology", "Automotive",
)
CONTACT_TITLES = (
    "Chief Technology Officer", "Chief Information Officer", "VP Engineering", "Head of IT",
    "Procurement Manager", "Director of Operations", "Head of Data", "IT Manager", "Security Officer",
    "Head of Customer Experience", "Enterprise Architect", "Finance Director",
)

# Common words that carry no topic: the texture of business prose.
FILLER_WORDS = _words("""
we our team the this that next week today update plan share notes quick question idea help thanks
everyone please review draft final proposal meeting follow-up timeline owner status progress risk
issue fix change improve learn lessons approach process customer project goal result impact
feedback decision option recommend suggest check confirm agree discuss clarify summary details
context example template guide checklist kickoff retro sync demo launch pilot phase scope
estimate effort priority blocker dependency handoff quarter month deadline budget metric target
""")

POST_OPENERS = (
    "Notes on", "Lessons learned from", "A quick guide to", "Update on", "Deep dive:", "How we improved",
    "Announcing", "Five tips for", "What we learned about", "Proposal:", "Recap:", "Checklist for",
)
QUESTION_OPENERS = (
    "How do we handle", "What is the best way to approach", "Anyone have experience with",
    "Help needed with", "Is there a guide for", "Who knows about", "Question about",
    "Where can I find docs on",
)
ANSWER_OPENERS = ("You can", "We solved this with", "Try", "The runbook covers", "I would start with",
                  "Have a look at", "We usually")
COMMENT_OPENERS = ("Great point on", "Thanks, this helps with", "+1 on", "Interesting, how about",
                   "Agreed on", "Nice work on", "Could we reuse this for")
KUDOS_PHRASES = (
    "Thanks for your help with", "Huge thanks for jumping in on", "Great work on",
    "Really appreciated your support on", "Thank you for the clear explanation of",
)
DOCUMENT_KINDS = ("deck", "spreadsheet", "one-pager", "runbook", "diagram", "playbook")
SLACK_EMOJI = ("thumbsup", "tada", "eyes", "white_check_mark", "raised_hands", "heart", "joy", "pray",
               "rocket", "100", "fire", "thinking_face")
