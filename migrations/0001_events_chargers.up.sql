-- Events every edge uploaded, keyed by the edge's own sequence so that an
-- event delivered twice is stored once (ARCHITECTURE.md, "Identity").
-- Identifiers sort bytewise (COLLATE "C"): they are opaque codes, and
-- ListChargers pages in that order whatever the server's locale.
CREATE TABLE events (
    edge_id     text        COLLATE "C" NOT NULL,
    seq         bigint      NOT NULL CHECK (seq > 0),
    tenant_id   text        COLLATE "C" NOT NULL,
    charger_id  text        COLLATE "C" NOT NULL,
    connector   integer     NOT NULL DEFAULT 0 CHECK (connector >= 0),
    kind        text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    -- The chargeplane.v1.Event as the edge sent it (protobuf), so that event
    -- kinds this schema has no columns for yet are kept and can be replayed.
    payload     bytea       NOT NULL,
    PRIMARY KEY (edge_id, seq)
);

-- Every charger the cloud has heard of, one row per (edge, charger).
CREATE TABLE chargers (
    tenant_id    text        COLLATE "C" NOT NULL,
    edge_id      text        COLLATE "C" NOT NULL,
    charger_id   text        COLLATE "C" NOT NULL,
    protocol     text        NOT NULL DEFAULT '',
    firmware     text        NOT NULL DEFAULT '',
    first_seen   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    -- Highest event seq folded into this row, and seq of the event that set
    -- firmware: protocol and firmware are only taken from events newer than
    -- these, so a replayed old event never overwrites what a newer one said.
    last_seq     bigint      NOT NULL DEFAULT 0,
    firmware_seq bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (edge_id, charger_id)
);

-- ListChargers filtered by tenant pages in (edge_id, charger_id) order.
CREATE INDEX chargers_tenant_idx ON chargers (tenant_id, edge_id, charger_id);
