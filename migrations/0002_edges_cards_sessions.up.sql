-- Edges with their credentials and site configuration, the tenants' cards
-- (wallets), and the session ledger the edges upload (SyncService). Ids sort
-- bytewise (COLLATE "C") like in 0001.

-- Config versions. Every change to what an edge pulls (tariff, unknown-card
-- policy, card put/delete/top-up, balance debit) takes the next value, under
-- the tenant's config lock (cloud/site), so an edge's effective version
--   greatest(edges.config_version, max(cards.version) of its tenant)
-- strictly increases in commit order.
CREATE SEQUENCE config_version_seq AS bigint START 1;

CREATE TABLE edges (
    edge_id               text        COLLATE "C" PRIMARY KEY,
    tenant_id             text        COLLATE "C" NOT NULL,
    name                  text        NOT NULL DEFAULT '',
    -- sha256 of the credential the edge presents (Authorization: Bearer);
    -- the credential itself is shown once and never stored.
    credential_hash       bytea       NOT NULL CHECK (length(credential_hash) = 32),
    credential_created_at timestamptz NOT NULL,
    -- Set: the credential no longer authenticates (rotating issues a new one
    -- and clears it).
    revoked_at            timestamptz,
    config_version        bigint      NOT NULL,
    unknown_cards         text        NOT NULL DEFAULT 'reject' CHECK (unknown_cards IN ('accept', 'reject')),
    -- chargeplane.v1.Tariff as {"id": …, "periods": [{"start_minute": …,
    -- "electricity_mfen_per_kwh": …, "service_mfen_per_kwh": …}]}; NULL: none
    -- set, the edge keeps its local fallback.
    tariff                jsonb,
    created_at            timestamptz NOT NULL
);

-- ListEdges and the edges a tenant-wide change hints.
CREATE INDEX edges_tenant_idx ON edges (tenant_id, edge_id);

-- Cards (RFID/NFC ids, stored lowercase) with the tenant's wallet balance;
-- every edge of the tenant receives them all.
CREATE TABLE cards (
    tenant_id         text    COLLATE "C" NOT NULL,
    card_id           text    COLLATE "C" NOT NULL CHECK (card_id <> '' AND card_id = lower(card_id)),
    -- May go negative: sessions authorized offline are debited when uploaded.
    balance_fen       bigint  NOT NULL DEFAULT 0,
    offline_limit_fen bigint  NOT NULL DEFAULT 0 CHECK (offline_limit_fen >= 0),
    blocked           boolean NOT NULL DEFAULT false,
    user_id           text    NOT NULL DEFAULT '',
    -- config_version_seq value of the last change to this row.
    version           bigint  NOT NULL,
    PRIMARY KEY (tenant_id, card_id)
);

-- max(version) of a tenant, part of every edge's effective version.
CREATE INDEX cards_tenant_version_idx ON cards (tenant_id, version);

-- Finished sessions (SessionEnded events) uploaded by PushSessions, each once:
-- by (edge_id, seq), and by the session's own identity, so the same session
-- uploaded again under another seq is a duplicate too.
CREATE TABLE sessions (
    edge_id            text        COLLATE "C" NOT NULL,
    seq                bigint      NOT NULL CHECK (seq > 0),
    tenant_id          text        COLLATE "C" NOT NULL,
    charger_id         text        COLLATE "C" NOT NULL,
    connector          integer     NOT NULL CHECK (connector >= 0),
    session_ref        text        COLLATE "C" NOT NULL,
    started_at         timestamptz NOT NULL,
    ended_at           timestamptz NOT NULL,
    energy_mwh         bigint      NOT NULL,
    duration_s         bigint      NOT NULL,
    -- chargeplane.v1.EndReason without its prefix, lowercase ("local", "remote", …).
    reason             text        NOT NULL,
    raw_reason         text        NOT NULL DEFAULT '',
    -- Billed at the edge: amount_fen = electricity_fen + service_fen.
    amount_fen         bigint      NOT NULL,
    electricity_fen    bigint      NOT NULL,
    service_fen        bigint      NOT NULL,
    -- What the charger computed itself; reconciliation only.
    charger_amount_fen bigint      NOT NULL DEFAULT 0,
    -- Lowercase, like cards.card_id; '' when not started by card.
    card_id            text        COLLATE "C" NOT NULL DEFAULT '',
    user_id            text        COLLATE "C" NOT NULL DEFAULT '',
    auth_method        text        NOT NULL DEFAULT '',
    offline            boolean     NOT NULL DEFAULT false,
    tariff_id          text        NOT NULL DEFAULT '',
    start_command_id   text        NOT NULL DEFAULT '',
    -- The chargeplane.v1.Event as uploaded (edge_id filled in), protobuf.
    payload            bytea       NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (edge_id, seq),
    UNIQUE (edge_id, charger_id, connector, session_ref, started_at)
);

-- Session history pages newest first in (started_at, edge_id, seq) order,
-- by keyset; one index per filter shape so that a page costs an index range
-- scan whatever the depth.
CREATE INDEX sessions_tenant_started_idx ON sessions (tenant_id, started_at DESC, edge_id DESC, seq DESC);
CREATE INDEX sessions_tenant_charger_idx ON sessions (tenant_id, charger_id, started_at DESC, edge_id DESC, seq DESC);
CREATE INDEX sessions_tenant_card_idx ON sessions (tenant_id, card_id, started_at DESC, edge_id DESC, seq DESC);
CREATE INDEX sessions_edge_started_idx ON sessions (edge_id, started_at DESC, seq DESC);

-- Audit of wallet debits: one row per stored session whose card was debited.
CREATE TABLE wallet_entries (
    edge_id    text        COLLATE "C" NOT NULL,
    seq        bigint      NOT NULL,
    tenant_id  text        COLLATE "C" NOT NULL,
    card_id    text        COLLATE "C" NOT NULL,
    -- Amount taken from the balance (the session's amount_fen).
    amount_fen bigint      NOT NULL CHECK (amount_fen > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (edge_id, seq)
);

CREATE INDEX wallet_entries_card_idx ON wallet_entries (tenant_id, card_id, created_at);
