-- Remote control and live status (cloud/command, cloud/live). Ids sort
-- bytewise (COLLATE "C") like in 0001.

-- Every command an operator sent to a charger, with its outcome: the audit
-- of remote control (who, when, what, result). state only moves forward:
-- queued → sent → one of the final states, or straight to a final state;
-- a final state is never overwritten (cloud/command's UPDATEs say so).
CREATE TABLE commands (
    tenant_id    text        COLLATE "C" NOT NULL,
    -- Random, unique across tenants; the edge echoes it in CommandResult.
    command_id   text        COLLATE "C" NOT NULL PRIMARY KEY,
    edge_id      text        COLLATE "C" NOT NULL,
    charger_id   text        COLLATE "C" NOT NULL,
    connector    integer     NOT NULL DEFAULT 0 CHECK (connector >= 0),
    -- ChargerCommand.kind: "start", "stop", "set_parameters", "reboot", "query_status".
    kind         text        NOT NULL,
    -- ChargerCommand.params, {"name": "value"}.
    params       jsonb       NOT NULL DEFAULT '{}',
    -- ChargerCommand.limit as protojson ({"durationS": "3600"}); NULL: none.
    limit_spec   jsonb,
    state        text        NOT NULL CHECK (state IN ('queued', 'sent', 'accepted', 'rejected', 'timed_out', 'failed')),
    detail       text        NOT NULL DEFAULT '',
    -- CommandResult.values, {"name": "value"}.
    result       jsonb       NOT NULL DEFAULT '{}',
    -- access.Principal.Subject() of the caller: "user:<id>" or "key:<id>".
    requested_by text        NOT NULL,
    requested_at timestamptz NOT NULL,
    sent_at      timestamptz,
    finished_at  timestamptz,
    -- Sent to the edge: it does not execute the command after this time.
    expires_at   timestamptz NOT NULL,
    -- With no result by then, the sweeper marks the command timed_out.
    deadline     timestamptz NOT NULL CHECK (deadline >= expires_at)
);

-- ListCommands pages newest first by (requested_at, command_id), by keyset,
-- per tenant and optionally per edge or charger.
CREATE INDEX commands_tenant_time_idx ON commands (tenant_id, requested_at DESC, command_id DESC);
CREATE INDEX commands_tenant_charger_idx ON commands (tenant_id, charger_id, requested_at DESC, command_id DESC);
CREATE INDEX commands_tenant_edge_idx ON commands (tenant_id, edge_id, requested_at DESC, command_id DESC);
-- The sweeper scans only commands still waiting for their result.
CREATE INDEX commands_open_deadline_idx ON commands (deadline) WHERE state IN ('queued', 'sent');

-- The current state of every connector the edges reported
-- (ConnectorStatusChanged, SessionStarted/SessionEnded events). A row is
-- changed only by an event at least as new as the one that last wrote it
-- (seq), so events replayed or delivered late never roll it back.
CREATE TABLE connector_status (
    tenant_id   text        COLLATE "C" NOT NULL,
    edge_id     text        COLLATE "C" NOT NULL,
    charger_id  text        COLLATE "C" NOT NULL,
    connector   integer     NOT NULL CHECK (connector >= 0),
    -- chargeplane.v1.ConnectorStatus without its prefix, lowercase
    -- ("available", "charging", …; "unspecified" before any status event).
    status      text        NOT NULL,
    raw_status  text        NOT NULL DEFAULT '',
    -- The charger's reference of the session on the connector; '' for none.
    session_ref text        NOT NULL DEFAULT '',
    -- occurred_at of the event that last wrote the row.
    updated_at  timestamptz NOT NULL,
    seq         bigint      NOT NULL CHECK (seq > 0),
    PRIMARY KEY (tenant_id, edge_id, charger_id, connector)
);

-- ListConnectorStatus filtered by charger alone (the primary key serves
-- the tenant and tenant+edge listings).
CREATE INDEX connector_status_charger_idx ON connector_status (tenant_id, charger_id, edge_id, connector);
